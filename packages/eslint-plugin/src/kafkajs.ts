import ts from 'typescript'

const KAFKAJS_TYPES = /[\\/]node_modules[\\/]kafkajs[\\/]/

/** Declared in kafkajs's own types (its Producer, Transaction, Message…), wherever the package manager put them. */
export function declaredInKafkajs(symbol: ts.Symbol | undefined): boolean {
  return symbol?.declarations?.some((d) => KAFKAJS_TYPES.test(d.getSourceFile().fileName)) ?? false
}

/**
 * Whether a value of this type is a kafkajs sender (a Producer or a Transaction): its `method` is the one kafkajs
 * declares. Matching the receiver's type, not the call's shape, keeps a class of one's own with a
 * `send({ topic, messages })` method out of the kafkajs checks.
 */
export function isKafkajsSender(type: ts.Type, method: 'send' | 'sendBatch'): boolean {
  const parts = type.isUnion()
    ? type.types.filter((t) => (t.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined)) === 0)
    : [type]
  return parts.length > 0 && parts.every((t) => declaredInKafkajs(t.getProperty(method)))
}
