import type { TSESTree } from '@typescript-eslint/utils'
import { createRule } from '../create-rule.js'
import { fieldOf, sendSites, tombstoneSite } from '../send-calls.js'
import { keyRequirement } from '../topic-type.js'
import { findUnstable } from '../unstable.js'

export type MessageIds = 'unstableKey' | 'kafkajsUnstableKey' | 'jsonKey'

const BREAKS =
  'so records of one entity go to many partitions: their order is lost and compaction never replaces an old value.'

export default createRule<[], MessageIds>({
  name: 'no-unstable-key',
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow keys made from random values, the current time or JSON of an object',
      recommended: true,
      requiresTypeChecking: true,
    },
    schema: [],
    messages: {
      unstableKey: `The key is made from {{source}}, which differs on every call, ${BREAKS} Key by the entity's stable id (order id, user id); if records need no order, declare the topic with ordering: 'none' and leave the key out.`,
      kafkajsUnstableKey: `The key is made from {{source}}, which differs on every call, ${BREAKS} Key by the entity's stable id (order id, user id); if the messages need no order, leave the key out: kafkajs spreads keyless messages over the partitions just as well.`,
      jsonKey: `The key is made from {{source}}, which changes with property order and with every field, ${BREAKS} Build the key from the id fields explicitly, e.g. \`\${tenant}:\${id}\`.`,
    },
  },
  defaultOptions: [],
  create(context) {
    const check = (key: TSESTree.Node, api: 'keyed' | 'kafkajs'): void => {
      const found = findUnstable(context, key)
      if (!found) return
      const messageId = found.kind === 'json' ? 'jsonKey' : api === 'keyed' ? 'unstableKey' : 'kafkajsUnstableKey'
      context.report({ node: found.node, messageId, data: { source: found.source } })
    }
    return {
      CallExpression(call) {
        for (const site of sendSites(context, call)) {
          // An unordered, uncompacted keyed topic needs no key; kafkajs topics say nothing, and a random key is never better than none.
          if (site.api === 'keyed' && keyRequirement(site.kind!) === undefined) continue
          for (const record of site.records) {
            const key = fieldOf(context, record, 'key')
            if (key.kind === 'expr') check(key.node, site.api)
          }
        }
        const tombstone = tombstoneSite(context, call)
        if (tombstone?.key) check(tombstone.key, 'keyed')
      },
    }
  },
})
