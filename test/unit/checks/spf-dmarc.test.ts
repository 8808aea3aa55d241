// The R2 (SPF) and G15/G1E (DMARC) checks alone, on facts written by hand.
// The same checks on facts mailauth found against a DNS server on loopback:
// test/rig/authenticate.test.ts.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { AuthFacts } from '../../../plugins/lib/auth/authenticate'
import { spfCheck } from '../../../plugins/lib/checks/spf'
import { dmarcCheck } from '../../../plugins/lib/checks/dmarc'

const DMARC_CFG = { reject: true, temperror: 'defer' } as const

describe('the checks alone', () => {
  const spf = (result: AuthFacts['spf']['result']): Pick<AuthFacts, 'spf'> => ({ spf: { result, domain: 'sender.example', source: 'mailauth' } })

  it('R2 only for fail with reject_fail, and not when DMARC passed', () => {
    assert.deepEqual(spfCheck(spf('fail'), { reject_fail: true }), { id: 'R2', vars: { mailFromDomain: 'sender.example' }, reason: 'SPF fail for sender.example (mailauth)' })
    assert.equal(spfCheck(spf('fail'), { reject_fail: false }), undefined)
    for (const r of ['pass', 'softfail', 'neutral', 'none', 'permerror', 'temperror'] as const) assert.equal(spfCheck(spf(r), { reject_fail: true }), undefined, r)
    assert.equal(spfCheck({ ...spf('fail'), dmarc: { result: 'pass' } }, { reject_fail: true }), undefined)
    assert.equal(spfCheck({ ...spf('fail'), dmarc: { result: 'fail', policy: 'none' } }, { reject_fail: true })?.id, 'R2')
  })

  const from = { addresses: ['alice@sender.example'], headerCount: 1, domains: ['sender.example'] }
  const base = { result: 'fail', policy: 'reject', domain: 'sender.example', fromDomain: 'sender.example', address: 'alice@sender.example' } as const

  it('G15, G1E and what is accepted', () => {
    assert.deepEqual(dmarcCheck({ from, dmarc: base }, DMARC_CFG)?.vars, { dmarcDomain: 'sender.example' })
    assert.equal(dmarcCheck({ from, dmarc: { ...base, policy: 'quarantine' } }, DMARC_CFG), undefined)
    assert.equal(dmarcCheck({ from, dmarc: { ...base, policy: 'none' } }, DMARC_CFG), undefined)
    assert.equal(dmarcCheck({ from, dmarc: { ...base, result: 'pass' } }, DMARC_CFG), undefined)
    assert.equal(dmarcCheck({ from, dmarc: { ...base, result: 'none' } }, DMARC_CFG), undefined)
    assert.equal(dmarcCheck({ from, dmarc: undefined }, DMARC_CFG), undefined)
    const temp = { ...base, result: 'temperror' as const, policy: undefined }
    assert.deepEqual(dmarcCheck({ from, dmarc: temp }, DMARC_CFG)?.vars, { email: 'alice@sender.example' })
    assert.equal(dmarcCheck({ from, dmarc: temp }, { reject: true, temperror: 'accept' }), undefined)
    const unsure = { ...base, uncertain: 'SPF temperror for sender.example' }
    assert.equal(dmarcCheck({ from, dmarc: unsure }, DMARC_CFG)?.id, 'G1E')
    assert.equal(dmarcCheck({ from, dmarc: unsure }, { reject: false, temperror: 'defer' }), undefined, 'no reject to be unsure of')
    // A temperror with no address to name (the safety net) cannot fill {EMAIL}.
    assert.equal(dmarcCheck({ from: { ...from, addresses: [] }, dmarc: { result: 'temperror' } }, DMARC_CFG), undefined)
  })

  it('several domains: a known reject before a temperror, whichever comes first', () => {
    const temp = { result: 'temperror', fromDomain: 'b.example', address: 'b@b.example' } as const
    const rej = { ...base, fromDomain: 'a.example', domain: 'a.example', address: 'a@a.example' }
    const dmarc = { ...temp, domains: [temp, rej] }
    assert.deepEqual(dmarcCheck({ from, dmarc }, DMARC_CFG)?.vars, { dmarcDomain: 'a.example' })
    assert.deepEqual(dmarcCheck({ from, dmarc }, { reject: false, temperror: 'defer' })?.vars, { email: 'b@b.example' })
  })
})
