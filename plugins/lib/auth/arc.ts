// ARC (RFC 8617) for a message that would be refused for DMARC: the chain
// the DKIM verifier already read (its newest ARC-Message-Signature verified
// with the DKIM signatures), its seals verified here, and what the DMARC
// override needs from it: the newest seal's d= and the first
// ARC-Authentication-Results' dmarc= result.
import { arc as mailauthArc, ARCSigningData, DNSResolver } from 'mailauth'
import { byDeadline } from './deadline'
import { ArcFacts } from './facts'
import { ResolverFn } from '../dns/mailauth'

/**
 * ARC sets verified at most. Each seal signs every set before it, so the
 * work grows with the square of the chain; real forwarding paths have a
 * few hops. A longer chain is not verified and vouches for nothing.
 */
export const MAX_ARC_SETS = 10

/** A tag's value of a parsed ARC header field, as a string. */
function tagOf(parsed: unknown, name: string): unknown {
  if (typeof parsed !== 'object' || parsed === null || !(name in parsed)) return undefined
  const tag: unknown = Reflect.get(parsed, name)
  return typeof tag === 'object' && tag !== null ? Reflect.get(tag, 'value') : undefined
}

/** dmarc= and header.from of the first ARC-Authentication-Results (its parsed form). */
function firstDmarc(parsed: unknown): ArcFacts['firstDmarc'] {
  const result = tagOf(parsed, 'dmarc')
  if (typeof result !== 'string') return undefined
  const dmarc: unknown = typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, 'dmarc') : undefined
  const header: unknown = typeof dmarc === 'object' && dmarc !== null ? Reflect.get(dmarc, 'header') : undefined
  // header.from=: a property value, a plain string (a crafted dotted key may make it an object).
  const from: unknown = typeof header === 'object' && header !== null ? Reflect.get(header, 'from') : undefined
  return { result: result.toLowerCase(), ...(typeof from === 'string' ? { from: from.toLowerCase() } : {}) }
}

/**
 * Verifies the chain within `until` (ms since the epoch): every lookup goes
 * through `resolver`, the message's own (its budget and deadline); past
 * `until` the chain counts as failed. Never rejects.
 */
export async function verifyArc(data: ARCSigningData & { error?: unknown }, resolver: ResolverFn, until: number): Promise<ArcFacts> {
  if (data.error) return { result: 'fail', reason: `the ARC chain is not valid: ${data.error instanceof Error ? data.error.message : String(data.error)}` }
  const chain = data.chain
  if (!chain || !chain.length) return { result: 'none' }
  if (chain.length > MAX_ARC_SETS) return { result: 'fail', reason: `${chain.length} ARC sets, more than ${MAX_ARC_SETS}: not verified` }
  // Read before verifying: on pass mailauth rewrites the newest set's parsed
  // ARC-Authentication-Results in place, and with one set that is the first.
  const sealer = tagOf(chain[chain.length - 1]['arc-seal']?.parsed, 'd')
  const first = firstDmarc(chain[0]['arc-authentication-results']?.parsed)
  try {
    const res = await byDeadline(mailauthArc({ chain, lastEntry: data.lastEntry }, { resolver: resolver as DNSResolver }), until)
    if (!res) return { result: 'fail', reason: 'ARC not verified within the time limit of the evaluation' }
    const result = String(res.status.result)
    if (result !== 'pass') return { result: result === 'none' ? 'none' : 'fail', ...(res.status.comment ? { reason: String(res.status.comment) } : {}) }
    return {
      result: 'pass',
      instances: chain.length,
      ...(typeof sealer === 'string' ? { sealer: sealer.toLowerCase() } : {}),
      ...(first ? { firstDmarc: first } : {}),
    }
  } catch (err) {
    return { result: 'fail', reason: `ARC verification failed: ${err instanceof Error ? err.message : String(err)}` }
  }
}
