// G30: messages accepted for one recipient mailbox in the last
// [mailbox_rate] period (sliding window, see store/rate-window.ts), checked at RCPT.
import { Verdict } from '../codes/render'

export function mailboxRate(facts: { recent: number | undefined }, cfg: { limit: number }): Verdict | undefined {
  if (!cfg.limit || facts.recent === undefined) return undefined
  if (facts.recent < cfg.limit) return undefined
  return { id: 'G30', reason: `${Math.floor(facts.recent)} messages in the window, limit ${cfg.limit}` }
}
