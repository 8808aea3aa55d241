// What a callout tells about a recipient. Every failure is an answer too:
// nothing in callout/ throws.

export type CalloutAnswer =
  | { result: 'valid'; code: number; reply: string }
  /** User unknown: 550/551/553, or any 5xx whose enhanced code is 5.1.x. */
  | { result: 'unknown'; code: number; reply: string }
  /** Any other 5xx to RCPT TO. */
  | { result: 'refused'; code: number; reply: string }
  /** 4xx at any step, timeout, no connection, connection dropped, garbage. */
  | { result: 'tempfail'; code?: number; reply: string }

export function tempfail(reply: string, code?: number): CalloutAnswer {
  return code === undefined ? { result: 'tempfail', reply } : { result: 'tempfail', code, reply }
}
