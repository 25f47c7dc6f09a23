import { ConfigError, redactUrl } from '@keyed/sdk/backend'

/** Where and how to connect, read from redis({ url }). The password is not enumerable, so inspecting this shows no secret. */
export interface ServerAddress {
  readonly host: string
  readonly port: number
  readonly username: string | undefined
  readonly password: string | undefined
  readonly db: number
  readonly tls: boolean
  /** The URL with its password replaced by ***, for messages. */
  readonly display: string
}

const FORMAT = 'redis://[[user]:password@]host[:port][/db] (rediss:// for TLS)'

/**
 * Parses the URL without ever repeating its password: every ConfigError shows it redacted. Characters of the user or
 * password that the URL syntax gives a meaning ('@', '/', ':' in the user, '%') must be percent-encoded.
 */
export function parseRedisUrl(url: string): ServerAddress {
  const display = redactUrl(url)
  const fail = (problem: string) => new ConfigError(`redis({ url }) ${problem}. Expected ${FORMAT}, got '${display}'.`)
  const scheme = /^(rediss?):\/\//.exec(url)
  if (!scheme) throw fail('must start with redis:// or rediss:// (lower case, two slashes)')
  const rest = url.slice(scheme[0].length)
  const at = rest.lastIndexOf('@')
  const userinfo = at < 0 ? undefined : rest.slice(0, at)
  let username: string | undefined
  let password: string | undefined
  if (userinfo !== undefined) {
    for (const [char, code] of [
      ['@', '%40'],
      ['/', '%2F'],
      ['?', '%3F'],
      ['#', '%23'],
    ] as const) {
      if (userinfo.includes(char)) throw fail(`has '${char}' in its user or password: percent-encode it as ${code}`)
    }
    const colon = userinfo.indexOf(':')
    try {
      username = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon)) || undefined
      password = (colon < 0 ? '' : decodeURIComponent(userinfo.slice(colon + 1))) || undefined
    } catch {
      throw fail(`has a '%' in its user or password that is not a percent-encoding: write '%' as %25`)
    }
  }
  let parsed: URL
  try {
    parsed = new URL(`${scheme[1]}://${rest.slice(at + 1)}`)
  } catch {
    throw fail('is not a valid URL after its password (host, port or path)')
  }
  if (!parsed.hostname) throw fail('names no host')
  if (parsed.search || parsed.hash) throw fail('takes no query or fragment: pass options to redis({ … }) instead')
  const path = parsed.pathname.replace(/^\/+|\/+$/g, '')
  if (path !== '' && !/^\d{1,5}$/.test(path))
    throw fail(`has '/${path}' where a database number (/0, /1…) may follow the host`)
  const address: ServerAddress = {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port ? Number(parsed.port) : 6379,
    username,
    password: undefined,
    db: path === '' ? 0 : Number(path),
    tls: scheme[1] === 'rediss',
    display,
  }
  Object.defineProperty(address, 'password', { value: password, enumerable: false })
  return address
}
