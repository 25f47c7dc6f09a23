import { AST_NODE_TYPES, type TSESLint, type TSESTree } from '@typescript-eslint/utils'
import { isRepeated } from '../ast.js'
import { createRule } from '../create-rule.js'
import { fieldOf, sendSites, services, type SendSite } from '../send-calls.js'

export type Options = [{ checkSingleSends?: boolean }]
export type MessageIds = 'constantKey' | 'kafkajsConstantKey'

type Context = Readonly<TSESLint.RuleContext<string, readonly unknown[]>>

/** The literal a key always is: a string or number literal, a template without expressions, or a literal-typed const. */
function constantOf(context: Context, node: TSESTree.Node): string | undefined {
  if (node.type === AST_NODE_TYPES.Literal && (typeof node.value === 'string' || typeof node.value === 'number'))
    return JSON.stringify(node.value)
  if (node.type === AST_NODE_TYPES.TemplateLiteral && node.expressions.length === 0)
    return JSON.stringify(node.quasis[0]?.value.cooked ?? '')
  const type = services(context).getTypeAtLocation(node)
  if (type.isStringLiteral() || type.isNumberLiteral()) return JSON.stringify(type.value)
  return undefined
}

export default createRule<Options, MessageIds>({
  name: 'no-constant-key',
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow one literal key for every record sent to a topic',
      recommended: true,
      strictOptions: [{ checkSingleSends: true }],
      requiresTypeChecking: true,
    },
    schema: [
      {
        type: 'object',
        properties: {
          checkSingleSends: {
            type: 'boolean',
            description:
              'Also report a literal key in a single send that is not in a loop or callback (on in the strict config).',
          },
        },
        additionalProperties: false,
      },
    ],
    messages: {
      constantKey:
        "Every record sent here has the key {{key}}, so all of them hash to one partition of {{topic}}: that partition takes the whole load and one consumer does all the work while the others idle. Key by the entity the record is about (order id, user id); if records need no order, declare the topic with ordering: 'none' and leave the key out. If one key is the design (a single latest record on a compacted topic), declare the key as a literal (key: z.literal('current')).",
      kafkajsConstantKey:
        'Every message sent here has the key {{key}}, so all of them hash to one partition of {{topic}}: that partition takes the whole load and one consumer does all the work while the others idle. Key by the entity the message is about (order id, user id); if the messages need no order, leave the key out and kafkajs spreads them over the partitions.',
    },
  },
  defaultOptions: [{ checkSingleSends: false }],
  create(context, [{ checkSingleSends }]) {
    const check = (site: SendSite): void => {
      // A key typed as a union of literals (an enum of regions, say) is constant by design.
      if (site.kind?.literalKeyType) return
      const keys: { node: TSESTree.Node; value: string }[] = []
      let mapped = false
      for (const record of site.records) {
        const key = fieldOf(context, record, 'key')
        const value = key.kind === 'expr' ? constantOf(context, key.node) : undefined
        if (key.kind !== 'expr' || value === undefined) return
        keys.push({ node: key.node, value })
        mapped ||= record.mapped
      }
      const first = keys[0]
      if (!first || keys.some((k) => k.value !== first.value)) return
      if (keys.length >= 2 || mapped || checkSingleSends || isRepeated(site.call)) {
        const messageId = site.api === 'keyed' ? 'constantKey' : 'kafkajsConstantKey'
        context.report({
          node: keys.length === 1 ? first.node : site.recordsNode,
          messageId,
          data: { key: first.value, topic: site.topicLabel },
        })
      }
    }
    return {
      CallExpression(call) {
        for (const site of sendSites(context, call)) check(site)
      },
    }
  },
})
