import type { ParserServicesWithTypeInformation, TSESTree } from '@typescript-eslint/utils'
import ts from 'typescript'

/** A keyed topic's design as its declared type states it; undefined sets mean the type does not say. */
export interface TopicKind {
  orderings: ReadonlySet<string> | undefined
  policies: ReadonlySet<string> | undefined
  /** The key's input type when it is a union of literals (an enum-like key), else undefined. */
  literalKeyType: boolean
}

/** The string literals a type is made of, or undefined when any part is not a string literal. */
export function stringLiterals(type: ts.Type): string[] | undefined {
  const parts = type.isUnion() ? type.types : [type]
  const out: string[] = []
  for (const part of parts) {
    if (!part.isStringLiteral()) return undefined
    out.push(part.value)
  }
  return out
}

function propertyType(checker: ts.TypeChecker, type: ts.Type, name: string): ts.Type | undefined {
  const symbol = type.getProperty(name)
  return symbol ? checker.getTypeOfSymbol(symbol) : undefined
}

function isLiteralUnion(type: ts.Type): boolean {
  const parts = type.isUnion() ? type.types : [type]
  return parts.length > 0 && parts.every((p) => p.isLiteral() || (p.flags & ts.TypeFlags.BooleanLiteral) !== 0)
}

/** Reads a topic's kind from the type of `node`: the '~keyed' brand, then the literal `ordering` and `cleanupPolicy` types. */
export function topicKindOf(services: ParserServicesWithTypeInformation, node: TSESTree.Node): TopicKind | undefined {
  const checker = services.program.getTypeChecker()
  let type = services.getTypeAtLocation(node)
  // A generic helper's topic parameter: read the design from its constraint.
  if (type.flags & ts.TypeFlags.Instantiable) type = checker.getBaseConstraintOfType(type) ?? type
  const brand = propertyType(checker, type, '~keyed')
  if (!brand || stringLiterals(brand)?.join() !== 'topic') return undefined
  const ordering = propertyType(checker, type, 'ordering')
  const policy = propertyType(checker, type, 'cleanupPolicy')
  const orderings = ordering && stringLiterals(ordering)
  const policies = policy && stringLiterals(policy)
  const phantom = propertyType(checker, type, '~types')
  const keyIn = phantom && propertyType(checker, checker.getNonNullableType(phantom), 'keyIn')
  return {
    orderings: orderings && new Set(orderings),
    policies: policies && new Set(policies),
    literalKeyType: keyIn !== undefined && isLiteralUnion(keyIn),
  }
}

export function mayBeOrdered(kind: TopicKind): boolean {
  return kind.orderings?.has('per-key') ?? false
}

export function mayBeCompacted(kind: TopicKind): boolean {
  return kind.policies?.has('compact') === true || kind.policies?.has('compact,delete') === true
}

export function isUncompacted(kind: TopicKind): boolean {
  return kind.policies !== undefined && [...kind.policies].every((p) => p === 'delete')
}

/** Why records of this topic need a key, for messages; undefined when keyless records are fine. */
export function keyRequirement(kind: TopicKind): string | undefined {
  const reasons = [
    mayBeOrdered(kind) && "ordered per key (ordering: 'per-key')",
    mayBeCompacted(kind) &&
      `compacted (cleanupPolicy: '${[...kind.policies!].filter((p) => p !== 'delete').join("' | '")}')`,
  ].filter((r): r is string => typeof r === 'string')
  return reasons.length ? reasons.join(' and ') : undefined
}

/** Whether null and undefined are types of their own, as typescript-eslint's rules decide it. */
export function strictNullChecks(services: ParserServicesWithTypeInformation): boolean {
  const options = services.program.getCompilerOptions()
  return options.strictNullChecks ?? options.strict ?? false
}

export function mayBeNullish(type: ts.Type): boolean {
  const parts = type.isUnion() ? type.types : [type]
  return parts.some((p) => (p.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined | ts.TypeFlags.Void)) !== 0)
}
