import { ASTUtils, AST_NODE_TYPES, type TSESLint, type TSESTree } from '@typescript-eslint/utils'

type Context = Readonly<TSESLint.RuleContext<string, readonly unknown[]>>

/** The name of a non-computed (or string-literal computed) property or member. */
export function staticName(node: TSESTree.Node): string | undefined {
  if (node.type === AST_NODE_TYPES.Identifier) return node.name
  if (node.type === AST_NODE_TYPES.Literal && typeof node.value === 'string') return node.value
  return undefined
}

export function memberName(callee: TSESTree.Node): string | undefined {
  if (callee.type !== AST_NODE_TYPES.MemberExpression) return undefined
  if (callee.computed && callee.property.type !== AST_NODE_TYPES.Literal) return undefined
  return staticName(callee.property)
}

/** The `const` variable declarator an identifier refers to, if any. */
export function constDeclarator(context: Context, id: TSESTree.Identifier): TSESTree.VariableDeclarator | undefined {
  const variable = ASTUtils.findVariable(context.sourceCode.getScope(id), id)
  const def = variable?.defs.length === 1 ? variable.defs[0] : undefined
  if (def?.type !== 'Variable' || def.parent.kind !== 'const') return undefined
  return def.node.id.type === AST_NODE_TYPES.Identifier ? def.node : undefined
}

/** Drops `as`, `satisfies`, `!` and follows `const` identifiers to their initializers (a few hops). */
export function unwrap(context: Context, node: TSESTree.Node, follow = true): TSESTree.Node {
  for (let hops = 0; hops < 8; hops++) {
    if (
      node.type === AST_NODE_TYPES.TSAsExpression ||
      node.type === AST_NODE_TYPES.TSSatisfiesExpression ||
      node.type === AST_NODE_TYPES.TSNonNullExpression ||
      node.type === AST_NODE_TYPES.TSTypeAssertion
    ) {
      node = node.expression
    } else if (follow && node.type === AST_NODE_TYPES.Identifier) {
      const init = constDeclarator(context, node)?.init
      if (!init) return node
      node = init
    } else {
      return node
    }
  }
  return node
}

export function propertyName(p: TSESTree.Property): string | undefined {
  return !p.computed || p.key.type === AST_NODE_TYPES.Literal ? staticName(p.key) : undefined
}

/** The property of an object literal that last sets `name` (a later property wins), skipping spreads. */
export function findProperty(object: TSESTree.ObjectExpression, name: string): TSESTree.Property | undefined {
  for (let i = object.properties.length - 1; i >= 0; i--) {
    const p = object.properties[i]!
    if (p.type === AST_NODE_TYPES.Property && propertyName(p) === name) return p
  }
  return undefined
}

export function isNullLiteral(node: TSESTree.Node): boolean {
  return (
    node.type === AST_NODE_TYPES.Literal &&
    node.value === null &&
    !('regex' in node && node.regex) &&
    !('bigint' in node && node.bigint)
  )
}

export function isUndefinedLiteral(node: TSESTree.Node): boolean {
  return (
    (node.type === AST_NODE_TYPES.Identifier && node.name === 'undefined') ||
    (node.type === AST_NODE_TYPES.UnaryExpression && node.operator === 'void')
  )
}

const LOOPS = new Set<string>([
  AST_NODE_TYPES.ForStatement,
  AST_NODE_TYPES.ForInStatement,
  AST_NODE_TYPES.ForOfStatement,
  AST_NODE_TYPES.WhileStatement,
  AST_NODE_TYPES.DoWhileStatement,
])
const ITERATORS = new Set([
  'forEach',
  'map',
  'flatMap',
  'filter',
  'reduce',
  'some',
  'every',
  'from',
  'setInterval',
  'on',
])

/** Whether the node runs repeatedly: inside a loop or a callback given to an iterating method, within its function. */
export function isRepeated(node: TSESTree.Node): boolean {
  for (let n: TSESTree.Node | undefined = node.parent; n; n = n.parent) {
    if (LOOPS.has(n.type)) return true
    if (n.type === AST_NODE_TYPES.ArrowFunctionExpression || n.type === AST_NODE_TYPES.FunctionExpression) {
      const call = n.parent
      if (call?.type === AST_NODE_TYPES.CallExpression && call.arguments.includes(n)) {
        const name =
          memberName(call.callee) ?? (call.callee.type === AST_NODE_TYPES.Identifier ? call.callee.name : undefined)
        if (name !== undefined && ITERATORS.has(name)) return true
      }
      return false
    }
    if (n.type === AST_NODE_TYPES.FunctionDeclaration) return false
  }
  return false
}
