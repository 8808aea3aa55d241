// The one bound on a DNS wait. c-ares keeps its own timers, but they do not
// hold [dns] timeout on their own (see channels() in front-end.ts), and a
// message's evaluation has a deadline of its own: both are a race against a
// timer, written once here.

/** An Error with a node:dns code. */
export function dnsError(code: string, message: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(message)
  err.code = code
  return err
}

/** Rejects with ETIMEOUT when `query` has not settled within `ms`. */
export async function withTimeout<T>(query: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(dnsError('ETIMEOUT', `${what}: no answer within ${ms} ms`)), Math.max(0, ms))
  })
  // The lookup may still settle after the timeout; nothing waits for it then.
  query.catch(() => undefined)
  try {
    return await Promise.race([query, timeout])
  } finally {
    clearTimeout(timer)
  }
}
