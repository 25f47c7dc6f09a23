/**
 * The text of something meant as a connection URL with whatever may be a secret replaced by ***: the password of its
 * user info (everything between the scheme and the last '@', except a user name before the first ':'), and the values
 * of its query and fragment (clients accept `?password=`). Works on malformed input too ('Redis://', 'redis:/').
 */
export function redactUrl(url: string): string {
  const at = url.lastIndexOf('@')
  let head = ''
  let tail = url
  if (at >= 0) {
    const slashes = url.indexOf('//')
    const colon = url.indexOf(':')
    const start = slashes >= 0 && slashes < at ? slashes + 2 : colon >= 0 && colon < at ? colon + 1 : 0
    const userinfo = url.slice(start, at)
    const userEnd = userinfo.indexOf(':')
    head = `${url.slice(0, start)}${userEnd < 0 ? '***' : `${userinfo.slice(0, userEnd)}:***`}@`
    tail = url.slice(at + 1)
  }
  // Query and fragment: names stay, values (or items without one) become ***.
  return (
    head +
    tail.replace(/[?#].*$/s, (query) =>
      query.replace(/([?&#;])([^=&#;]*)(=?)[^&#;]*/g, (_, sep: string, name: string, eq: string) =>
        eq ? `${sep}${name}=***` : `${sep}***`,
      ),
    )
  )
}
