// G2: simultaneous connections from one client IP. Postfix's
// smtpd_client_connection_count_limit plays the same part.
import { Verdict } from '../codes/render'

export interface ConcurrencyFacts {
  /** Connections from this IP open now, this one included; undefined when the store could not say. */
  connections: number | undefined
}

export function concurrency(facts: ConcurrencyFacts, cfg: { max: number }): Verdict | undefined {
  if (!cfg.max || facts.connections === undefined) return undefined
  if (facts.connections <= cfg.max) return undefined
  return { id: 'G2', reason: `${facts.connections} connections open, max ${cfg.max}` }
}
