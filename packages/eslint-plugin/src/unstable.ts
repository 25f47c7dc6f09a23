import { AST_NODE_TYPES, ASTUtils, type TSESLint, type TSESTree } from '@typescript-eslint/utils'
import ts from 'typescript'
import { constDeclarator, memberName, staticName, unwrap } from './ast.js'
import { services } from './send-calls.js'

type Context = Readonly<TSESLint.RuleContext<string, readonly unknown[]>>

export interface UnstableSource {
  node: TSESTree.Node
  /** What the key is made of, for the message. */
  source: string
  kind: 'random' | 'time' | 'json'
}

const MEMBER_CALLS: Record<string, Record<string, UnstableSource['kind']>> = {
  Math: { random: 'random' },
  Date: { now: 'time' },
  performance: { now: 'time' },
  process: { hrtime: 'time', uptime: 'time' },
}
const ANY_OBJECT: Record<string, UnstableSource['kind']> = {
  randomUUID: 'random',
  randomBytes: 'random',
  getRandomValues: 'random',
}
const MODULE_EXPORTS: Record<string, Record<string, UnstableSource['kind']>> = {
  uuid: { v1: 'time', v4: 'random', v6: 'time', v7: 'time' },
  nanoid: { nanoid: 'random' },
  'nanoid/non-secure': { nanoid: 'random' },
  ulid: { ulid: 'time', monotonicFactory: 'time' },
  crypto: { randomUUID: 'random', randomBytes: 'random' },
  'node:crypto': { randomUUID: 'random', randomBytes: 'random' },
  perf_hooks: {},
  'node:perf_hooks': {},
}

/** A table lookup that ignores Object.prototype (a key called `toString` is not a table entry). */
function own<T>(table: Record<string, T> | undefined, key: string): T | undefined {
  return table !== undefined && Object.hasOwn(table, key) ? table[key] : undefined
}

/** The module and imported name an identifier is bound to, if it is an import. */
function importOf(context: Context, id: TSESTree.Identifier): { module: string; imported: string } | undefined {
  const def = ASTUtils.findVariable(context.sourceCode.getScope(id), id)?.defs[0]
  if (def?.type !== 'ImportBinding' || def.parent.type !== AST_NODE_TYPES.ImportDeclaration) return undefined
  const module = def.parent.source.value
  if (def.node.type === AST_NODE_TYPES.ImportSpecifier) return { module, imported: staticName(def.node.imported) ?? '' }
  return { module, imported: '*' }
}

function isJsonStringifyOfObject(context: Context, call: TSESTree.CallExpression): boolean {
  const callee = call.callee
  if (
    callee.type !== AST_NODE_TYPES.MemberExpression ||
    callee.object.type !== AST_NODE_TYPES.Identifier ||
    callee.object.name !== 'JSON'
  )
    return false
  if (memberName(callee) !== 'stringify' || !call.arguments[0]) return false
  const arg = unwrap(context, call.arguments[0])
  if (arg.type === AST_NODE_TYPES.ObjectExpression) return true
  const { program, getTypeAtLocation } = services(context)
  const type = getTypeAtLocation(arg)
  const checker = program.getTypeChecker()
  const parts = type.isUnion() ? type.types : [type]
  return parts.some(
    (p) =>
      (p.flags & ts.TypeFlags.Object) !== 0 &&
      !checker.isArrayType(p) &&
      !checker.isTupleType(p) &&
      p.getCallSignatures().length === 0,
  )
}

function calledSource(
  context: Context,
  call: TSESTree.CallExpression | TSESTree.NewExpression,
): UnstableSource | undefined {
  const callee = call.callee
  const text = context.sourceCode.getText(callee)
  if (call.type === AST_NODE_TYPES.NewExpression) {
    return callee.type === AST_NODE_TYPES.Identifier && callee.name === 'Date' && call.arguments.length === 0
      ? { node: call, source: 'new Date()', kind: 'time' }
      : undefined
  }
  if (callee.type === AST_NODE_TYPES.Identifier) {
    if (callee.name === 'Date') return { node: call, source: 'Date()', kind: 'time' }
    const imported = importOf(context, callee)
    const kind = imported && own(own(MODULE_EXPORTS, imported.module), imported.imported)
    return kind ? { node: call, source: `${text}() from '${imported.module}'`, kind } : undefined
  }
  if (callee.type === AST_NODE_TYPES.MemberExpression) {
    if (isJsonStringifyOfObject(context, call))
      return { node: call, source: 'JSON.stringify of an object', kind: 'json' }
    const method = memberName(callee)
    if (method === undefined) return undefined
    const anyObject = own(ANY_OBJECT, method)
    if (anyObject) return { node: call, source: `${text}()`, kind: anyObject }
    // process.hrtime.bigint()
    const object =
      callee.object.type === AST_NODE_TYPES.MemberExpression && memberName(callee.object) === 'hrtime'
        ? callee.object.object
        : callee.object
    if (object.type !== AST_NODE_TYPES.Identifier) return undefined
    const imported = importOf(context, object)
    const fromModule = imported && own(own(MODULE_EXPORTS, imported.module), method)
    if (fromModule) return { node: call, source: `${text}() from '${imported.module}'`, kind: fromModule }
    const kind = own(own(MEMBER_CALLS, object.name), object === callee.object ? method : 'hrtime')
    return kind ? { node: call, source: `${text}()`, kind } : undefined
  }
  return undefined
}

/** The first source of an unstable value inside a key expression, following `const` variables a few hops. */
export function findUnstable(context: Context, node: TSESTree.Node, depth = 0): UnstableSource | undefined {
  if (depth > 4) return undefined
  if (node.type === AST_NODE_TYPES.CallExpression || node.type === AST_NODE_TYPES.NewExpression) {
    const found = calledSource(context, node)
    if (found) return found
  }
  if (node.type === AST_NODE_TYPES.Identifier) {
    const parent = node.parent
    const isReference = !(
      parent?.type === AST_NODE_TYPES.MemberExpression &&
      parent.property === node &&
      !parent.computed
    )
    const init = isReference ? constDeclarator(context, node)?.init : undefined
    const found = init ? findUnstable(context, init, depth + 1) : undefined
    return found ? { ...found, node } : undefined
  }
  if (node.type.includes('Function') || node.type === AST_NODE_TYPES.ClassExpression) return undefined
  for (const [k, v] of Object.entries(node)) {
    if (k === 'parent' || k === 'typeAnnotation' || k === 'typeArguments') continue
    for (const child of Array.isArray(v) ? v : [v]) {
      if (child && typeof child === 'object' && typeof (child as TSESTree.Node).type === 'string') {
        const found = findUnstable(context, child as TSESTree.Node, depth)
        if (found) return found
      }
    }
  }
  return undefined
}
