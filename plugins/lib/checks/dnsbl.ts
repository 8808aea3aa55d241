// G31/G32: a DNS list zone lists the client (zones and the meaning of
// their answers: ../lists/dnsbl.ts).
import { Verdict } from '../codes/render'
import { ZoneResult } from '../lists/dnsbl'

/** G31/G32: the first zone, in [dnsbl] zones order, that lists the client. */
export function dnsblCheck(facts: { ip: string; results: ZoneResult[] }): Verdict | undefined {
  for (const { zone, meaning } of facts.results) {
    if (meaning.kind !== 'listed') continue
    return {
      id: zone.code,
      vars: { ip: facts.ip, zone: zone.zone, result: meaning.result },
      reason: `${zone.zone} answered ${meaning.result}`,
    }
  }
  return undefined
}
