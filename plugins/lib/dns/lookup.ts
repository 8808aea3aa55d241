// What a check gets from a lookup: "no such record" kept apart from "could
// not find out" (SERVFAIL, timeout, refused), so that a check never reads a
// DNS failure as an answer.

export type Lookup<T> =
  | { status: 'ok'; values: T[] }
  /** NXDOMAIN or no record of the type. */
  | { status: 'none'; code: string }
  /** SERVFAIL, timeout, refused, or any other failure. */
  | { status: 'error'; code: string }

export interface Mx { exchange: string; priority: number }

/**
 * The node:dns codes of "no such record": an answer, kept like records.
 * node:dns gives the E forms; the bare ones are the c-ares names of the same.
 */
export const NO_RECORD: ReadonlySet<string> = new Set(['ENOTFOUND', 'ENODATA', 'NOTFOUND', 'NODATA'])
