import {
  AST_NODE_TYPES,
  ESLintUtils,
  type ParserServicesWithTypeInformation,
  type TSESLint,
  type TSESTree,
} from '@typescript-eslint/utils'
import ts from 'typescript'
import { findProperty, memberName, propertyName, unwrap } from './ast.js'
import { declaredInKafkajs, isKafkajsSender } from './kafkajs.js'
import { topicKindOf, type TopicKind } from './topic-type.js'

type Context = Readonly<TSESLint.RuleContext<string, readonly unknown[]>>

/** One record as written at a send: an object literal, or an expression known only by its type. */
export interface RecordSite {
  node: TSESTree.Node
  object: TSESTree.ObjectExpression | undefined
  /** Produced by a `.map` callback: one written record stands for many sent ones. */
  mapped: boolean
}

export interface SendSite {
  api: 'keyed' | 'kafkajs'
  call: TSESTree.CallExpression
  /** The expression naming the topic (keyed: the topic argument; kafkajs: the `topic` property's value). */
  topicNode: TSESTree.Node
  /** How messages refer to the topic. */
  topicLabel: string
  /** keyed: the topic's declared design. */
  kind: TopicKind | undefined
  /** kafkajs: the topic name when it is static. */
  topicName: string | undefined
  recordsNode: TSESTree.Node
  records: RecordSite[]
  batch: boolean
}

/** Where a record's `key` or `value` comes from. */
export type FieldSource =
  | { kind: 'missing'; node: TSESTree.Node }
  | { kind: 'expr'; node: TSESTree.Expression }
  | { kind: 'typed'; node: TSESTree.Node; type: ts.Type; optional: boolean; library: boolean }
  | { kind: 'unknown' }

export function services(context: Context): ParserServicesWithTypeInformation {
  return ESLintUtils.getParserServices(context)
}

/** any, unknown, or still generic (SendRecord<T> in a helper is a deferred conditional type): its fields say nothing yet. */
function isOpaque(type: ts.Type): boolean {
  const parts = type.isUnionOrIntersection() ? type.types : [type]
  return parts.some((p) => (p.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown | ts.TypeFlags.Instantiable)) !== 0)
}

function elementType(checker: ts.TypeChecker, type: ts.Type): ts.Type | undefined {
  if (checker.isArrayType(type) || checker.isTupleType(type)) {
    const args = checker.getTypeArguments(type as ts.TypeReference)
    return args.length === 1 ? args[0] : undefined
  }
  return undefined
}

function recordFrom(context: Context, node: TSESTree.Node, mapped: boolean): RecordSite {
  const target = unwrap(context, node)
  return { node: target, object: target.type === AST_NODE_TYPES.ObjectExpression ? target : undefined, mapped }
}

function returnedExpressions(fn: TSESTree.Node): TSESTree.Node[] {
  if (fn.type !== AST_NODE_TYPES.ArrowFunctionExpression && fn.type !== AST_NODE_TYPES.FunctionExpression) return []
  if (fn.body.type !== AST_NODE_TYPES.BlockStatement) return [fn.body]
  const out: TSESTree.Node[] = []
  const visit = (n: TSESTree.Node): void => {
    if (n.type === AST_NODE_TYPES.ReturnStatement) {
      if (n.argument) out.push(n.argument)
      return
    }
    if (n.type.includes('Function') || n.type === AST_NODE_TYPES.ClassBody) return
    for (const [k, v] of Object.entries(n)) {
      if (k === 'parent') continue
      for (const child of Array.isArray(v) ? v : [v]) {
        if (child && typeof child === 'object' && typeof (child as TSESTree.Node).type === 'string')
          visit(child as TSESTree.Node)
      }
    }
  }
  for (const statement of fn.body.body) visit(statement)
  return out
}

/** The records of a `send` argument: one record, an array literal (with spreads), a `.map` callback, or an array-typed value. */
export function recordsOf(context: Context, arg: TSESTree.Node): { records: RecordSite[]; batch: boolean } {
  const node = unwrap(context, arg)
  if (node.type === AST_NODE_TYPES.ArrayExpression) {
    const records: RecordSite[] = []
    for (const element of node.elements) {
      if (!element) continue
      if (element.type === AST_NODE_TYPES.SpreadElement) {
        const spread = unwrap(context, element.argument)
        if (spread.type === AST_NODE_TYPES.ArrayExpression) records.push(...recordsOf(context, spread).records)
        else if (spread.type === AST_NODE_TYPES.CallExpression) records.push(...recordsOf(context, spread).records)
        else records.push({ node: element, object: undefined, mapped: true })
      } else {
        records.push(recordFrom(context, element, false))
      }
    }
    return { records, batch: true }
  }
  const method = node.type === AST_NODE_TYPES.CallExpression ? memberName(node.callee) : undefined
  if (
    node.type === AST_NODE_TYPES.CallExpression &&
    (method === 'map' || method === 'flatMap' || (method === 'from' && node.arguments.length >= 2))
  ) {
    const fn = node.arguments[method === 'from' ? 1 : 0]
    const callback = fn && unwrap(context, fn)
    if (callback)
      return { records: returnedExpressions(callback).map((n) => recordFrom(context, n, true)), batch: true }
  }
  const { program, esTreeNodeToTSNodeMap } = services(context)
  const checker = program.getTypeChecker()
  const type = checker.getTypeAtLocation(esTreeNodeToTSNodeMap.get(node))
  if (elementType(checker, type)) return { records: [{ node, object: undefined, mapped: true }], batch: true }
  return { records: [recordFrom(context, arg, false)], batch: false }
}

/** Where a record's field comes from: the last property or spread that sets it. */
export function fieldOf(context: Context, record: RecordSite, name: string): FieldSource {
  const { program, esTreeNodeToTSNodeMap } = services(context)
  const checker = program.getTypeChecker()
  const fromType = (node: TSESTree.Node, type: ts.Type): FieldSource | undefined => {
    if (isOpaque(type)) return { kind: 'unknown' }
    const symbol = type.getProperty(name)
    if (!symbol) return undefined
    // kafkajs's own Message type declares `key?: Buffer | string | null`: that says nothing about the values sent.
    const library = declaredInKafkajs(symbol)
    return {
      kind: 'typed',
      node,
      type: checker.getTypeOfSymbol(symbol),
      optional: (symbol.flags & ts.SymbolFlags.Optional) !== 0,
      library,
    }
  }
  if (!record.object) {
    let type = checker.getTypeAtLocation(
      esTreeNodeToTSNodeMap.get(record.node.type === AST_NODE_TYPES.SpreadElement ? record.node.argument : record.node),
    )
    type = elementType(checker, type) ?? type
    return fromType(record.node, type) ?? { kind: 'unknown' }
  }
  const object = record.object
  for (let i = object.properties.length - 1; i >= 0; i--) {
    const p = object.properties[i]!
    if (p.type === AST_NODE_TYPES.SpreadElement) {
      const found = fromType(p, checker.getTypeAtLocation(esTreeNodeToTSNodeMap.get(p.argument)))
      if (found) return found
    } else if (propertyName(p) === name) {
      return { kind: 'expr', node: p.value as TSESTree.Expression }
    } else if (p.computed && propertyName(p) === undefined) {
      return { kind: 'unknown' }
    }
  }
  return { kind: 'missing', node: object }
}

function staticString(context: Context, node: TSESTree.Node): string | undefined {
  const target = unwrap(context, node, false)
  if (target.type === AST_NODE_TYPES.Literal && typeof target.value === 'string') return target.value
  if (target.type === AST_NODE_TYPES.TemplateLiteral && target.expressions.length === 0)
    return target.quasis[0]?.value.cooked ?? undefined
  const type = services(context).getTypeAtLocation(target)
  return type.isStringLiteral() ? type.value : undefined
}

function kafkajsSite(
  context: Context,
  call: TSESTree.CallExpression,
  spec: TSESTree.ObjectExpression,
): SendSite | undefined {
  const topic = findProperty(spec, 'topic')
  const messages = findProperty(spec, 'messages')
  if (!topic || !messages) return undefined
  const topicName = staticString(context, topic.value)
  const { records } = recordsOf(context, messages.value)
  return {
    api: 'kafkajs',
    call,
    topicNode: topic.value,
    topicLabel: topicName !== undefined ? `'${topicName}'` : context.sourceCode.getText(topic.value),
    kind: undefined,
    topicName,
    recordsNode: messages.value,
    records,
    batch: true,
  }
}

function isSendRecordType(checker: ts.TypeChecker, type: ts.Type): boolean {
  if (type.aliasSymbol?.name === 'SendRecord') return true
  const element = elementType(checker, type)
  return element !== undefined && isSendRecordType(checker, element)
}

const INLINE = new Set<string>([
  AST_NODE_TYPES.ObjectExpression,
  AST_NODE_TYPES.ArrayExpression,
  AST_NODE_TYPES.CallExpression,
])

/** A call to a helper of the user's that declares a parameter as `SendRecord<T>` (or an array of them) next to a topic. */
function helperSite(context: Context, call: TSESTree.CallExpression): SendSite | undefined {
  if (call.arguments.length < 2 || !call.arguments.some((a) => INLINE.has(unwrap(context, a, false).type)))
    return undefined
  const parser = services(context)
  const checker = parser.program.getTypeChecker()
  const declaration = checker.getResolvedSignature(parser.esTreeNodeToTSNodeMap.get(call))?.getDeclaration()
  if (!declaration || !('parameters' in declaration)) return undefined
  const index = declaration.parameters.findIndex(
    (p) => p.type !== undefined && isSendRecordType(checker, checker.getTypeFromTypeNode(p.type)),
  )
  const input = call.arguments[index]
  if (index < 0 || !input) return undefined
  for (const [i, topic] of call.arguments.entries()) {
    if (i === index) continue
    const site = keyedSite(context, call, topic, input)
    if (site) return site
  }
  return undefined
}

/** A send of `input` to a declared keyed topic, or undefined when `topic` is not one. */
function keyedSite(
  context: Context,
  call: TSESTree.CallExpression,
  topic: TSESTree.Node,
  input: TSESTree.Node,
): SendSite | undefined {
  const bare = unwrap(context, topic, false)
  const kind = topicKindOf(services(context), bare)
  if (!kind) return undefined
  const { records, batch } = recordsOf(context, input)
  return {
    api: 'keyed',
    call,
    topicNode: topic,
    topicLabel: context.sourceCode.getText(bare),
    kind,
    topicName: undefined,
    recordsNode: input,
    records,
    batch,
  }
}

/**
 * The sends a call makes: keyed `send(topic, records)`, kafkajs `send({ topic, messages })` and `sendBatch({ topicMessages })`
 * on a kafkajs Producer or Transaction (by the receiver's type), and calls to helpers taking a topic and `SendRecord<T>`.
 */
export function sendSites(context: Context, call: TSESTree.CallExpression): SendSite[] {
  const method = memberName(call.callee)
  if (method === 'send' && call.arguments.length >= 2) {
    const [topic, input] = call.arguments as [TSESTree.Node, TSESTree.Node]
    const site = keyedSite(context, call, topic, input)
    return site ? [site] : []
  }
  const kafkajs = (name: 'send' | 'sendBatch'): boolean =>
    call.callee.type === AST_NODE_TYPES.MemberExpression &&
    isKafkajsSender(services(context).getTypeAtLocation(call.callee.object), name)
  if (method === 'send' && call.arguments.length === 1) {
    if (!kafkajs('send')) return []
    const spec = unwrap(context, call.arguments[0]!)
    if (spec.type !== AST_NODE_TYPES.ObjectExpression) return []
    const site = kafkajsSite(context, call, spec)
    return site ? [site] : []
  }
  if (method === 'sendBatch' && call.arguments.length === 1) {
    if (!kafkajs('sendBatch')) return []
    const spec = unwrap(context, call.arguments[0]!)
    if (spec.type !== AST_NODE_TYPES.ObjectExpression) return []
    const list = findProperty(spec, 'topicMessages')
    const array = list && unwrap(context, list.value)
    if (array?.type !== AST_NODE_TYPES.ArrayExpression) return []
    return array.elements.flatMap((e) => {
      const item = e && unwrap(context, e)
      if (item?.type !== AST_NODE_TYPES.ObjectExpression) return []
      const site = kafkajsSite(context, call, item)
      return site ? [site] : []
    })
  }
  if (method === 'tombstone') return []
  const helper = helperSite(context, call)
  return helper ? [helper] : []
}

/** A keyed `producer.tombstone(topic, key)` call with its topic's design. */
export function tombstoneSite(
  context: Context,
  call: TSESTree.CallExpression,
): { topic: TSESTree.Node; key: TSESTree.Node | undefined; kind: TopicKind } | undefined {
  if (memberName(call.callee) !== 'tombstone' || call.arguments.length < 1) return undefined
  const topic = unwrap(context, call.arguments[0]!, false)
  const kind = topicKindOf(services(context), topic)
  return kind ? { topic, key: call.arguments[1], kind } : undefined
}
