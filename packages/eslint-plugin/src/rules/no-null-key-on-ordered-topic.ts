import type { TSESTree } from '@typescript-eslint/utils'
import { isNullLiteral, isUndefinedLiteral, unwrap } from '../ast.js'
import { createRule } from '../create-rule.js'
import { fieldOf, sendSites, services, tombstoneSite, type RecordSite } from '../send-calls.js'
import { orderedTopicsSchema, topicMatcher } from '../topic-patterns.js'
import { keyRequirement, mayBeNullish, strictNullChecks } from '../topic-type.js'

export type Options = [{ orderedTopics?: string[] }]
export type MessageIds =
  'missingKey' | 'nullKey' | 'nullableKey' | 'kafkajsMissingKey' | 'kafkajsNullKey' | 'kafkajsNullableKey'

const FIX = 'Set `key` to the id of the entity the record is about (order id, user id).'
const KAFKAJS_IDS = {
  missingKey: 'kafkajsMissingKey',
  nullKey: 'kafkajsNullKey',
  nullableKey: 'kafkajsNullableKey',
} as const
const KAFKAJS =
  "kafkajs sends it anyway, to a partition of its partitioner's choosing (round-robin for keyless messages), so one entity's messages spread over partitions and lose their order."

export default createRule<Options, MessageIds>({
  name: 'no-null-key-on-ordered-topic',
  meta: {
    type: 'problem',
    docs: {
      description: 'Require a non-null key on records sent to topics ordered per key or compacted',
      recommended: true,
      requiresTypeChecking: true,
    },
    schema: [{ type: 'object', properties: { orderedTopics: orderedTopicsSchema }, additionalProperties: false }],
    messages: {
      missingKey: `This record has no key, but {{topic}} is {{why}}. A keyless record goes to an arbitrary partition, so per-key order and compaction cannot hold (keyed's send throws MissingKeyError). ${FIX}`,
      nullKey: `The key is \`{{value}}\`, but {{topic}} is {{why}}. A record without a key goes to an arbitrary partition, so per-key order and compaction cannot hold (keyed's send throws MissingKeyError). ${FIX}`,
      nullableKey:
        'The key has type `{{type}}`, which may be null or undefined, but {{topic}} is {{why}}. Such a record goes to an arbitrary partition (keyed throws MissingKeyError). Check the key before sending, or make the id non-optional where it is declared.',
      kafkajsMissingKey: `This message has no key, but {{topic}} is {{why}}. ${KAFKAJS} Set \`key\` to the id of the entity the message is about (order id, user id).`,
      kafkajsNullKey: `The key is \`{{value}}\`, but {{topic}} is {{why}}; kafkajs treats a null key as no key. ${KAFKAJS} Set \`key\` to the id of the entity the message is about (order id, user id).`,
      kafkajsNullableKey:
        'The key has type `{{type}}`, which may be null or undefined, but {{topic}} is {{why}}; kafkajs sends such a message to a partition of its own choosing. Check the key before sending, or make the id non-optional where it is declared.',
    },
  },
  defaultOptions: [{}],
  create(context, [{ orderedTopics }]) {
    const parser = services(context)
    const checker = parser.program.getTypeChecker()
    const strict = strictNullChecks(parser)
    const ordered = topicMatcher(orderedTopics)

    type Data = { topic: string; why: string; api: 'keyed' | 'kafkajs' }
    /** kafkajs users get the kafkajs wording: nothing throws there, the message just lands anywhere. */
    const id = (api: Data['api'], keyed: keyof typeof KAFKAJS_IDS): MessageIds =>
      api === 'keyed' ? keyed : KAFKAJS_IDS[keyed]

    const checkKeyExpression = (key: TSESTree.Node, { api, ...data }: Data): void => {
      const bare = unwrap(context, key, false)
      if (isNullLiteral(bare) || isUndefinedLiteral(bare)) {
        context.report({
          node: key,
          messageId: id(api, 'nullKey'),
          data: { ...data, value: context.sourceCode.getText(key) },
        })
        return
      }
      if (!strict) return
      const type = parser.getTypeAtLocation(key)
      if (mayBeNullish(type))
        context.report({
          node: key,
          messageId: id(api, 'nullableKey'),
          data: { ...data, type: checker.typeToString(type) },
        })
    }

    const checkRecord = (record: RecordSite, { api, ...data }: Data): void => {
      const key = fieldOf(context, record, 'key')
      if (key.kind === 'missing') context.report({ node: key.node, messageId: id(api, 'missingKey'), data })
      else if (key.kind === 'expr') checkKeyExpression(key.node, { api, ...data })
      else if (key.kind === 'typed' && strict && !key.library && (key.optional || mayBeNullish(key.type))) {
        const type = checker.typeToString(key.type) + (key.optional && !mayBeNullish(key.type) ? ' | undefined' : '')
        context.report({ node: key.node, messageId: id(api, 'nullableKey'), data: { ...data, type } })
      }
    }

    return {
      CallExpression(call) {
        for (const site of sendSites(context, call)) {
          const why =
            site.api === 'keyed'
              ? keyRequirement(site.kind!)
              : ordered(site.topicName)
                ? 'ordered per key (listed in orderedTopics)'
                : undefined
          if (why === undefined) continue
          for (const record of site.records) checkRecord(record, { topic: site.topicLabel, why, api: site.api })
        }
        const tombstone = tombstoneSite(context, call)
        const why = tombstone && keyRequirement(tombstone.kind)
        if (tombstone && why) {
          const data = { topic: context.sourceCode.getText(tombstone.topic), why }
          if (tombstone.key) checkKeyExpression(tombstone.key, { ...data, api: 'keyed' })
          else context.report({ node: call, messageId: 'missingKey', data })
        }
      },
    }
  },
})
