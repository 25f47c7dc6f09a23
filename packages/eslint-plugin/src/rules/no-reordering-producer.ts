import { AST_NODE_TYPES, type TSESLint, type TSESTree } from '@typescript-eslint/utils'
import ts from 'typescript'
import { findProperty, memberName, unwrap } from '../ast.js'
import { createRule } from '../create-rule.js'
import { isKafkajsSender } from '../kafkajs.js'
import { fieldOf, sendSites, services, type SendSite } from '../send-calls.js'
import { orderedTopicsSchema, topicMatcher } from '../topic-patterns.js'
import { mayBeOrdered } from '../topic-type.js'

export type Options = [{ orderedTopics?: string[] }]
export type MessageIds = 'keyedReordering' | 'kafkajsReordering' | 'setMaxInFlight'

type Context = Readonly<TSESLint.RuleContext<string, readonly unknown[]>>
/** A setting as written: absent, a known literal, or something only known at run time. */
type Setting = { state: 'absent' } | { state: 'known'; value: unknown } | { state: 'unknown' }

function setting(context: Context, options: TSESTree.ObjectExpression | undefined, name: string): Setting {
  if (!options) return { state: 'absent' }
  const property = findProperty(options, name)
  if (!property)
    return options.properties.some((p) => p.type === AST_NODE_TYPES.SpreadElement)
      ? { state: 'unknown' }
      : { state: 'absent' }
  const value = unwrap(context, property.value)
  if (value.type === AST_NODE_TYPES.Literal) return { state: 'known', value: value.value }
  if (value.type === AST_NODE_TYPES.ObjectExpression) return { state: 'known', value }
  if (value.type === AST_NODE_TYPES.Identifier && value.name === 'undefined') return { state: 'absent' }
  const type = services(context).getTypeAtLocation(value)
  if (type.isNumberLiteral()) return { state: 'known', value: type.value }
  if (type.flags & ts.TypeFlags.BooleanLiteral)
    return { state: 'known', value: (type as { intrinsicName?: string }).intrinsicName === 'true' }
  return { state: 'unknown' }
}

type Api = 'keyed' | 'kafkajs'

/** keyed's producer has tombstone(); kafkajs's is the Producer its types declare. */
function producerApi(context: Context, call: TSESTree.CallExpression): Api | undefined {
  if (memberName(call.callee) !== 'producer') return undefined
  const type = services(context).getTypeAtLocation(call)
  if (type.getProperty('tombstone') && type.getProperty('send')) return 'keyed'
  if (isKafkajsSender(type, 'sendBatch') && type.getProperty('transaction')) return 'kafkajs'
  return undefined
}

/** `this.producer` / `this.#producer`: the name of a member of `this`, if that is what the node is. */
function thisMember(node: TSESTree.Node | undefined): string | undefined {
  if (
    node?.type !== AST_NODE_TYPES.MemberExpression ||
    node.object.type !== AST_NODE_TYPES.ThisExpression ||
    node.computed
  )
    return undefined
  return node.property.type === AST_NODE_TYPES.PrivateIdentifier ? `#${node.property.name}` : node.property.name
}

/** The class field a producer is kept in: `this.producer = kafka.producer()` or `producer = kafka.producer()` in a class body. */
function classField(call: TSESTree.CallExpression): { body: TSESTree.ClassBody; name: string } | undefined {
  const parent = call.parent
  let name: string | undefined
  if (parent?.type === AST_NODE_TYPES.AssignmentExpression && parent.right === call) name = thisMember(parent.left)
  else if (
    parent?.type === AST_NODE_TYPES.PropertyDefinition &&
    parent.value === call &&
    !parent.computed &&
    !parent.static
  ) {
    name =
      parent.key.type === AST_NODE_TYPES.PrivateIdentifier
        ? `#${parent.key.name}`
        : parent.key.type === AST_NODE_TYPES.Identifier
          ? parent.key.name
          : undefined
  }
  if (name === undefined) return undefined
  for (let node: TSESTree.Node | undefined = parent; node; node = node.parent) {
    if (node.type === AST_NODE_TYPES.ClassBody) return { body: node, name }
  }
  return undefined
}

/** The calls in a class body where `this` is the instance: methods, field initializers and arrow functions in them. */
function callsOnThis(body: TSESTree.ClassBody): TSESTree.CallExpression[] {
  const out: TSESTree.CallExpression[] = []
  const visit = (node: TSESTree.Node, inMember: boolean): void => {
    if (node.type === AST_NODE_TYPES.ClassBody && node !== body) return
    // A function that is not a method's own body rebinds `this`.
    if (
      (node.type === AST_NODE_TYPES.FunctionExpression || node.type === AST_NODE_TYPES.FunctionDeclaration) &&
      !inMember
    )
      return
    if (node.type === AST_NODE_TYPES.CallExpression) out.push(node)
    for (const [key, value] of Object.entries(node)) {
      if (key === 'parent') continue
      for (const child of Array.isArray(value) ? value : [value]) {
        if (child && typeof child === 'object' && typeof (child as TSESTree.Node).type === 'string') {
          visit(child as TSESTree.Node, node.type === AST_NODE_TYPES.MethodDefinition && key === 'value')
        }
      }
    }
  }
  visit(body, false)
  return out
}

/** Why this configuration can reorder one key's records, or undefined when it cannot (or it cannot be told). */
function reorderingReason(
  context: Context,
  api: Api,
  options: TSESTree.ObjectExpression | undefined,
): Record<string, string> | undefined {
  const get = (name: string) => setting(context, options, name)
  if (api === 'keyed') {
    const [idempotent, inFlight, retries, ordering] = [
      get('idempotent'),
      get('maxInFlight'),
      get('retries'),
      get('ordering'),
    ]
    if (ordering.state !== 'absent') return undefined
    if (idempotent.state !== 'known' || idempotent.value !== false) return undefined
    if (inFlight.state !== 'known' || typeof inFlight.value !== 'number' || inFlight.value <= 1) return undefined
    if (
      retries.state === 'unknown' ||
      (retries.state === 'known' && !(typeof retries.value === 'number' && retries.value > 0))
    )
      return undefined
    return {
      inFlight: String(inFlight.value),
      retries: retries.state === 'known' ? String(retries.value) : '5, the default',
    }
  }
  const [idempotent, inFlight, retry] = [get('idempotent'), get('maxInFlightRequests'), get('retry')]
  if (idempotent.state === 'unknown' || (idempotent.state === 'known' && idempotent.value !== false)) return undefined
  if (
    inFlight.state === 'unknown' ||
    (inFlight.state === 'known' && !(typeof inFlight.value === 'number' && inFlight.value > 1))
  )
    return undefined
  if (retry.state === 'unknown') return undefined
  if (retry.state === 'known') {
    if (typeof retry.value !== 'object' || retry.value === null) return undefined
    const retries = setting(context, retry.value as TSESTree.ObjectExpression, 'retries')
    if (retries.state === 'unknown' || (retries.state === 'known' && retries.value === 0)) return undefined
  }
  return {
    inFlight:
      inFlight.state === 'known'
        ? `${String(inFlight.value)} requests`
        : 'any number of requests (maxInFlightRequests is unset)',
  }
}

export default createRule<Options, MessageIds>({
  name: 'no-reordering-producer',
  meta: {
    type: 'problem',
    hasSuggestions: true,
    docs: {
      description: 'Disallow producers that can reorder records of one key when they send to topics ordered per key',
      recommended: true,
      requiresTypeChecking: true,
    },
    schema: [{ type: 'object', properties: { orderedTopics: orderedTopicsSchema }, additionalProperties: false }],
    messages: {
      keyedReordering:
        'This producer can reorder records of one key: with idempotent: false, retries ({{retries}}) and maxInFlight: {{inFlight}}, a failed request retried behind a later one lands after it. It sends to {{topic}}, which is ordered per key (keyed refuses it at send time with ReorderingProducerError). Drop idempotent: false, or set maxInFlight: 1, or retries: 0.',
      kafkajsReordering:
        'This kafkajs producer can reorder records of one key: it is not idempotent, allows {{inFlight}} in flight and retries failed ones, so a retried batch can land after a later one. It sends to {{topic}}, whose records are ordered per key. Set maxInFlightRequests: 1 (or idempotent: true with maxInFlightRequests: 1), or disable retries with retry: { retries: 0 }.',
      setMaxInFlight: 'Set {{name}}: 1 (one request in flight keeps order at some cost in throughput).',
    },
  },
  defaultOptions: [{}],
  create(context, [{ orderedTopics }]) {
    const ordered = topicMatcher(orderedTopics)
    const hasPatterns = (orderedTopics?.length ?? 0) > 0

    const sendsOrdered = (site: SendSite): boolean => {
      if (site.api === 'keyed') return mayBeOrdered(site.kind!)
      if (hasPatterns) return ordered(site.topicName)
      // Without orderedTopics, a kafkajs record that carries a key is taken to care about its key's order.
      return site.records.some((r) => fieldOf(context, r, 'key').kind !== 'missing')
    }

    /** The first send to an ordered topic through the variable or class field the producer is assigned to. */
    const orderedSend = (call: TSESTree.CallExpression): SendSite | undefined => {
      const field = classField(call)
      if (field) {
        for (const send of callsOnThis(field.body)) {
          if (send.callee.type !== AST_NODE_TYPES.MemberExpression || thisMember(send.callee.object) !== field.name)
            continue
          const site = sendSites(context, send).find(sendsOrdered)
          if (site) return site
        }
        return undefined
      }
      const declarator = call.parent
      if (declarator?.type !== AST_NODE_TYPES.VariableDeclarator || declarator.init !== call) return undefined
      for (const variable of context.sourceCode.getDeclaredVariables(declarator)) {
        for (const reference of variable.references) {
          const member = reference.identifier.parent
          const send = member?.parent
          if (
            member?.type !== AST_NODE_TYPES.MemberExpression ||
            member.object !== reference.identifier ||
            send?.type !== AST_NODE_TYPES.CallExpression ||
            send.callee !== member
          )
            continue
          const site = sendSites(context, send).find(sendsOrdered)
          if (site) return site
        }
      }
      return undefined
    }

    return {
      CallExpression(call) {
        const api = producerApi(context, call)
        if (!api) return
        const arg = call.arguments[0] && unwrap(context, call.arguments[0])
        if (arg && arg.type !== AST_NODE_TYPES.ObjectExpression) return
        const reason = reorderingReason(context, api, arg)
        if (!reason) return
        const site = orderedSend(call)
        if (!site) return
        const name = api === 'keyed' ? 'maxInFlight' : 'maxInFlightRequests'
        const existing = arg && findProperty(arg, name)
        context.report({
          node: arg ?? call,
          messageId: api === 'keyed' ? 'keyedReordering' : 'kafkajsReordering',
          data: { ...reason, topic: site.topicLabel },
          suggest: [
            {
              messageId: 'setMaxInFlight',
              data: { name },
              fix: (fixer) => {
                if (existing) return fixer.replaceText(existing.value, '1')
                if (!arg) return fixer.insertTextAfterRange([call.range[1] - 1, call.range[1] - 1], `{ ${name}: 1 }`)
                const last = arg.properties.at(-1)
                return last ? fixer.insertTextAfter(last, `, ${name}: 1`) : fixer.replaceText(arg, `{ ${name}: 1 }`)
              },
            },
          ],
        })
      },
    }
  },
})
