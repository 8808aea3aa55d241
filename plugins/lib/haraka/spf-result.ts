// haraka-plugin-spf's MAIL FROM result for this transaction, when that
// plugin ran: the bundle then uses it and does not evaluate SPF a second
// time. The plugin records { scope: 'mfrom', result: 'Fail', domain } in the
// transaction's results under "spf".
import type { SpfResult } from '../auth/authenticate'

const RESULTS: Record<string, SpfResult> = {
  pass: 'pass', fail: 'fail', softfail: 'softfail', neutral: 'neutral', none: 'none', temperror: 'temperror', permerror: 'permerror',
}

export function spfFromHaraka(txn: { results: { get(name: string): Record<string, unknown> | undefined } }): { result: SpfResult; domain: string } | undefined {
  const r = txn.results.get('spf')
  if (!r || r.scope !== 'mfrom' || typeof r.result !== 'string') return undefined
  const result = RESULTS[r.result.toLowerCase()]
  if (!result) return undefined
  return { result, domain: String(r.domain ?? '') }
}
