import net from 'node:net'

/**
 * A TCP proxy to a Redis server on a port of its own: `dropReplies` swallows the server's replies (the commands still
 * reach the server and run: a reply lost in the network), `cut()` closes every connection through it (ioredis then
 * reconnects and resends the commands left unanswered).
 */
export interface ReplyDroppingProxy {
  readonly url: string
  dropReplies: boolean
  cut(): void
  close(): Promise<void>
}

export async function replyDroppingProxy(targetPort: number): Promise<ReplyDroppingProxy> {
  const sockets = new Set<net.Socket>()
  const proxy = {
    url: '',
    dropReplies: false,
    cut: () => {
      for (const s of sockets) s.destroy()
    },
    close: () => {
      proxy.cut()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1')
    sockets.add(client)
    sockets.add(upstream)
    client.on('data', (d) => upstream.write(d))
    upstream.on('data', (d) => {
      if (!proxy.dropReplies) client.write(d)
    })
    const end = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    for (const s of [client, upstream]) s.on('close', end).on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  proxy.url = `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`
  return proxy
}
