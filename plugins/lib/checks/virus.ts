// G3/G4/G5: clamd found a virus. When clamd cannot answer, [virus] on_error
// decides: defer (the bundle's own 451, since the provider's table has no
// line for it) or accept.
import { ClamdResult } from '../content/clamd'
import { Verdict } from '../codes/render'

export function virusCheck(facts: { scan: ClamdResult | undefined }, cfg: { on_error: 'defer' | 'accept' }): Verdict | undefined {
  const scan = facts.scan
  if (!scan || scan.status === 'clean') return undefined
  if (scan.status === 'virus') return { id: 'G3/G4/G5', reason: `clamd: ${scan.name}` }
  return cfg.on_error === 'defer' ? { id: 'VIRUS-TEMP', reason: `clamd: ${scan.why}` } : undefined
}
