// G29: messages accepted from one sender mailbox in the last [sender_rate]
// period, checked at MAIL FROM. The count is a sliding window estimated from
// two fixed windows (see store/rate-window.ts).
import { Verdict } from '../codes/render'

export function senderRate(facts: { recent: number | undefined }, cfg: { limit: number }): Verdict | undefined {
  if (!cfg.limit || facts.recent === undefined) return undefined
  if (facts.recent < cfg.limit) return undefined
  return { id: 'G29', reason: `${Math.floor(facts.recent)} messages in the window, limit ${cfg.limit}` }
}
