import type { TSESTree } from '@typescript-eslint/utils'
import ts from 'typescript'
import { isNullLiteral, unwrap } from '../ast.js'
import { createRule } from '../create-rule.js'
import { fieldOf, sendSites, services, tombstoneSite } from '../send-calls.js'
import { isUncompacted, strictNullChecks } from '../topic-type.js'

export type MessageIds = 'nullValue' | 'nullableValue' | 'tombstone'

const WHY =
  "{{topic}} is not compacted (cleanupPolicy: 'delete'), so nothing ever removes this key's records and consumers get a null value they cannot parse (keyed's send throws SchemaError)."
const FIX =
  "Send a value; or, if the latest value per key is what matters, declare the topic with cleanupPolicy: 'compact'."

function includesNull(type: ts.Type): boolean {
  return (type.isUnion() ? type.types : [type]).some((p) => (p.flags & ts.TypeFlags.Null) !== 0)
}

export default createRule<[], MessageIds>({
  name: 'no-tombstone-on-uncompacted-topic',
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow tombstones (null values) on topics without compaction',
      recommended: true,
      requiresTypeChecking: true,
    },
    schema: [],
    messages: {
      nullValue: `A null value is a tombstone, but ${WHY} ${FIX}`,
      nullableValue: `The value has type \`{{type}}\`, which may be null (a tombstone), but ${WHY} ${FIX}`,
      tombstone: `tombstone() writes a null value, but ${WHY} Delete the entity some other way (a value that marks it deleted), or declare the topic with cleanupPolicy: 'compact'.`,
    },
  },
  defaultOptions: [],
  create(context) {
    const parser = services(context)
    const checker = parser.program.getTypeChecker()
    const strict = strictNullChecks(parser)
    const report = (node: TSESTree.Node, topic: string, type: ts.Type | undefined): void => {
      if (type === undefined) context.report({ node, messageId: 'nullValue', data: { topic } })
      else context.report({ node, messageId: 'nullableValue', data: { topic, type: checker.typeToString(type) } })
    }
    return {
      CallExpression(call) {
        for (const site of sendSites(context, call)) {
          if (site.api !== 'keyed' || !isUncompacted(site.kind!)) continue
          for (const record of site.records) {
            const value = fieldOf(context, record, 'value')
            if (value.kind === 'expr') {
              if (isNullLiteral(unwrap(context, value.node, false))) report(value.node, site.topicLabel, undefined)
              else if (strict) {
                const type = parser.getTypeAtLocation(value.node)
                if (includesNull(type)) report(value.node, site.topicLabel, type)
              }
            } else if (value.kind === 'typed' && strict && includesNull(value.type)) {
              report(value.node, site.topicLabel, value.type)
            }
          }
        }
        const tombstone = tombstoneSite(context, call)
        if (tombstone && isUncompacted(tombstone.kind)) {
          context.report({
            node: call,
            messageId: 'tombstone',
            data: { topic: context.sourceCode.getText(tombstone.topic) },
          })
        }
      },
    }
  },
})
