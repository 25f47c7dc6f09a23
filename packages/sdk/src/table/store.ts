/**
 * Keys and values of a table (the whole topic, or one partition of a partitioned table), by key id: the key itself
 * for string keys, its serialized bytes as latin1 otherwise.
 */
export class KeyStore<K, V> {
  readonly byId = new Map<string, V>()
  /** The decoded keys by id; only for keys that are not strings (string keys are their own id). */
  private readonly decodedKeys: Map<string, K> | undefined

  constructor(stringKeys: boolean) {
    this.decodedKeys = stringKeys ? undefined : new Map()
  }

  get size(): number {
    return this.byId.size
  }

  set(id: string, key: K, value: V): void {
    this.byId.set(id, value)
    this.decodedKeys?.set(id, key)
  }

  /** False when the key was absent. */
  delete(id: string): boolean {
    if (!this.byId.delete(id)) return false
    this.decodedKeys?.delete(id)
    return true
  }

  *entries(): IterableIterator<[K, V]> {
    for (const [id, value] of this.byId) yield [this.decodedKeys ? this.decodedKeys.get(id)! : (id as K), value]
  }
}
