// The DMARC overrides alone, on facts written by hand: [dmarc]
// override_domains and an ARC chain by a trusted sealer lift G15 and
// nothing else. The same with chains mailauth verified against a DNS server
// on loopback: test/rig/arc.test.ts.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ArcFacts } from '../../../plugins/lib/auth/authenticate'
import { dmarcCheck, DmarcFacts, dmarcOverride } from '../../../plugins/lib/checks/dmarc'

const from = { addresses: ['alice@sender.example'], headerCount: 1, domains: ['sender.example'] }
const fail = { result: 'fail', policy: 'reject', domain: 'sender.example', fromDomain: 'sender.example', address: 'alice@sender.example' } as const
const vouched: ArcFacts = { result: 'pass', sealer: 'lists.example', instances: 1, firstDmarc: { result: 'pass', from: 'sender.example' } }
const CFG = { reject: true, temperror: 'defer', trusted_arc_sealers: ['Lists.Example'], override_domains: [] } as const
const G15 = { id: 'G15', vars: { dmarcDomain: 'sender.example' }, reason: 'DMARC fail for sender.example, policy reject from sender.example' }

describe('DMARC overrides', () => {
  it('a valid chain sealed last by a trusted sealer, dmarc=pass for the From domain at i=1: no G15, arc_override', () => {
    const facts: DmarcFacts = { from, dmarc: fail, arc: vouched }
    assert.equal(dmarcCheck(facts, CFG), undefined)
    assert.deepEqual(dmarcOverride(facts, CFG), { kind: 'arc_override', domains: ['sender.example'], sealer: 'lists.example' })
  })

  it('G15 stands for an untrusted sealer, a chain that failed, dmarc=fail at i=1, another domain vouched for, or no chain', () => {
    const cases: Array<[string, ArcFacts | undefined]> = [
      ['untrusted sealer', { ...vouched, sealer: 'other.example' }],
      ['chain failed', { result: 'fail', reason: 'i=1 seal signature validation failed' }],
      ['no chain', { result: 'none' }],
      ['i=1 dmarc=fail', { ...vouched, firstDmarc: { result: 'fail', from: 'sender.example' } }],
      ['i=1 for another domain', { ...vouched, firstDmarc: { result: 'pass', from: 'other.example' } }],
      ['i=1 names no domain', { ...vouched, firstDmarc: { result: 'pass' } }],
      ['i=1 has no dmarc', { ...vouched, firstDmarc: undefined }],
      ['not verified', undefined],
    ]
    for (const [name, arc] of cases) {
      const facts: DmarcFacts = arc ? { from, dmarc: fail, arc } : { from, dmarc: fail }
      assert.deepEqual(dmarcCheck(facts, CFG), G15, name)
      assert.equal(dmarcOverride(facts, CFG), undefined, name)
    }
    assert.deepEqual(dmarcCheck({ from, dmarc: fail, arc: vouched }, { ...CFG, trusted_arc_sealers: [] }), G15, 'no trusted sealers')
  })

  it('override_domains: no G15 for those From domains, override_domain', () => {
    const cfg = { ...CFG, trusted_arc_sealers: [], override_domains: ['SENDER.example'] }
    assert.equal(dmarcCheck({ from, dmarc: fail }, cfg), undefined)
    assert.deepEqual(dmarcOverride({ from, dmarc: fail }, cfg), { kind: 'override_domain', domains: ['sender.example'] })
    // exact domains: a subdomain is not named
    const sub = { ...fail, fromDomain: 'news.sender.example' }
    assert.equal(dmarcCheck({ from, dmarc: sub }, cfg)?.id, 'G15')
  })

  it('several From domains: every reject fail must be lifted', () => {
    const other = { ...fail, domain: 'other.example', fromDomain: 'other.example', address: 'bob@other.example' }
    const dmarc = { ...fail, domains: [fail, other] }
    const two = { ...from, domains: ['sender.example', 'other.example'] }
    assert.equal(dmarcCheck({ from: two, dmarc, arc: vouched }, CFG)?.id, 'G15')
    const cfg = { ...CFG, override_domains: ['other.example'] }
    assert.equal(dmarcCheck({ from: two, dmarc, arc: vouched }, cfg), undefined)
    assert.deepEqual(dmarcOverride({ from: two, dmarc, arc: vouched }, cfg), { kind: 'arc_override', domains: ['sender.example', 'other.example'], sealer: 'lists.example' })
  })

  it('nothing else is lifted: the max_from_domains limit, G1E, and nothing to lift when DMARC passed', () => {
    const cfg = { ...CFG, override_domains: ['sender.example'] }
    const over = { ...from, overLimit: { domain: 'sender.example', count: 11, limit: 10 } }
    assert.equal(dmarcCheck({ from: over, dmarc: undefined, arc: vouched }, cfg)?.id, 'G15')
    assert.equal(dmarcCheck({ from, dmarc: { ...fail, result: 'temperror', policy: undefined }, arc: vouched }, cfg)?.id, 'G1E')
    assert.equal(dmarcCheck({ from, dmarc: { ...fail, uncertain: 'SPF temperror for sender.example' }, arc: vouched }, cfg)?.id, 'G1E')
    assert.equal(dmarcOverride({ from, dmarc: { ...fail, result: 'pass' }, arc: vouched }, cfg), undefined)
    assert.equal(dmarcCheck({ from, dmarc: fail, arc: vouched }, { ...cfg, reject: false }), undefined)
  })
})
