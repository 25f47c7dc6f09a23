type Closable = { close(): Promise<void> }

/** The producers, consumers and readers a backend made and has not seen closed: its close() closes them first. */
export class OpenSet {
  private readonly open = new Set<Closable>()

  /** Remembers the closable until its own close() is called. */
  track<T extends Closable>(closable: T): T {
    this.open.add(closable)
    const close = closable.close.bind(closable)
    closable.close = async () => {
      this.open.delete(closable)
      await close()
    }
    return closable
  }

  /** Closes every one still open; a failed close does not stop the others. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.open].map((c) => c.close().catch(() => undefined)))
  }
}
