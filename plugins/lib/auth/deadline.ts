// The one race against a deadline used by authentication: DKIM verification,
// the ARC chain and the whole evaluation each stop waiting at a point in time
// and fall back to an answer of their own.

/**
 * work's value, or undefined when `until` (ms since the epoch) comes first.
 * A rejection of work before then is passed on; one after it is ignored.
 */
export async function byDeadline<T>(work: Promise<T>, until: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  work.catch(() => undefined)
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, until - Date.now()))
  })
  try {
    return await Promise.race([work, late])
  } finally {
    clearTimeout(timer)
  }
}
