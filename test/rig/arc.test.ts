// The DMARC overrides through the data phase, on messages ARC-sealed by test
// sealers whose keys the DNS server on loopback serves: mailauth verifies
// the chain, the check decides G15.
//
// The scene: alice@sender.example (p=reject, no DKIM) writes to a list;
// lists.example forwards it from its own address and IP, so SPF passes for
// lists.example only and DMARC fails for sender.example.
import { after, before, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { sealMessage } from 'mailauth'
import { RecordSpec, TestDns } from './dns-server'
import { DkimKey, makeDkimKey } from './dkim'
import { authenticate } from '../../plugins/lib/auth/authenticate'
import { DnsRegistry } from '../../plugins/lib/dns/registry'
import { readSettings } from '../../plugins/lib/config/settings'
import { Session } from '../../plugins/lib/phases/session'
import { PhaseRun } from '../../plugins/lib/phases/run'
import { renderVerdict } from '../../plugins/lib/codes/render'

const registry = new DnsRegistry()
const LIST_IP = '203.0.113.5'
const G15 = '550 5.7.1 Email rejected per DMARC policy for sender.example (G15)'

let server: TestDns
let listKey: DkimKey
let otherKey: DkimKey
let slowKey: DkimKey

const txt = (data: string): RecordSpec[] => [{ type: 'TXT', data }]

const ORIGINAL = [
  'From: Alice <alice@sender.example>',
  'To: list@lists.example',
  'Subject: [list] hello',
  'Date: Mon, 01 Jan 2024 00:00:00 +0000',
  'Message-ID: <arc1@sender.example>',
  '',
  'Hello, list.',
  '',
].join('\r\n')

/** The message with an ARC set by `key` on top, its ARC-Authentication-Results saying `dmarc`. */
async function sealed(key: DkimKey, dmarc: 'pass' | 'fail', raw = ORIGINAL, cv: 'none' | 'pass' = 'none'): Promise<string> {
  const authResults = `${key.domain}; spf=pass smtp.mailfrom=sender.example; dmarc=${dmarc} header.from=sender.example`
  const set = await sealMessage(raw, { signingDomain: key.domain, selector: key.selector, privateKey: key.privateKey, authResults, cv })
  assert.ok(set.length, 'mailauth made an ARC set')
  return set.toString() + raw
}

/** How often the data phase asked for the seals to be verified, in the last data() call. */
let arcVerifications = 0

/** The data phase on `raw` as received from the list (or `from` the given IP and MAIL FROM), with these [dmarc] settings. */
async function data(raw: string, dmarc: Record<string, string>, from = { ip: LIST_IP, mailFrom: 'owner@lists.example' }, boundMs = 3000): Promise<PhaseRun> {
  const own = readSettings('support-codes-data.ini', { dmarc }).settings
  const session = new Session({ monitor: false, data: own })
  arcVerifications = 0
  return session.data({
    received: [], self: ['mx.test'], banned: new Set(),
    raw: async () => Buffer.from(raw),
    authenticate: async (buf) => {
      const facts = await authenticate({
        raw: buf, ip: from.ip, helo: 'out.lists.example', mailFrom: from.mailFrom, mta: 'mx.test',
        resolver: registry.mailauth([server.address], 2, 0), maxLookupsMs: boundMs, maxLookups: 30,
      })
      const verify = facts.verifyArc
      if (verify) facts.verifyArc = () => { arcVerifications++; return verify() }
      return facts
    },
  })
}

const line = (run: PhaseRun): string | undefined => run.stop?.verdict && renderVerdict(run.stop.verdict, 'data').line
const noted = (run: PhaseRun, key: string): unknown => run.notes.find((n) => key in n)?.[key]
const dmarcSaw = (run: PhaseRun): string | undefined => run.steps.find((s) => s.check === 'dmarc')?.saw

before(async () => {
  listKey = makeDkimKey('arc', 'lists.example')
  otherKey = makeDkimKey('arc', 'other.example')
  slowKey = makeDkimKey('arc', 'slow.example')
  server = await TestDns.start({
    records: {
      '_dmarc.sender.example': txt('v=DMARC1; p=reject'),
      'sender.example': txt('v=spf1 ip4:198.51.100.0/24 -all'),
      'lists.example': txt('v=spf1 ip4:203.0.113.0/24 -all'),
      [listKey.txtName]: txt(listKey.txtValue),
      [otherKey.txtName]: txt(otherKey.txtValue),
      [slowKey.txtName]: txt(slowKey.txtValue),
    },
  })
  // Past the 900 ms bound of the test that asks, within its lookup timeout.
  server.delay(slowKey.txtName, 1500)
})

after(async () => {
  await server.stop()
})

beforeEach(() => {
  server.queries = []
})

describe('ARC override and override domains', () => {
  const TRUSTED = { trusted_arc_sealers: 'lists.example' }

  it('without ARC the forwarded message gets G15', async () => {
    const run = await data(ORIGINAL, TRUSTED)
    assert.equal(line(run), G15)
  })

  it('trusted sealer, dmarc=pass in the ARC-Authentication-Results i=1: no G15, arc_override recorded', async () => {
    const run = await data(await sealed(listKey, 'pass'), TRUSTED)
    assert.equal(run.stop, undefined)
    assert.equal(noted(run, 'arc_override'), 'lists.example for sender.example')
    assert.equal(dmarcSaw(run), 'DMARC fail for sender.example, policy reject (sender.example); ARC pass sealed by lists.example, i=1 dmarc=pass for sender.example; not refused: ARC sealed by trusted lists.example (arc_override)')
    assert.ok(server.queries.some((q) => q.name === listKey.txtName), 'the seal key was looked up')
    assert.equal(arcVerifications, 1)
  })

  it('the same message with no trusted sealers: G15', async () => {
    const run = await data(await sealed(listKey, 'pass'), {})
    assert.equal(line(run), G15)
    assert.equal(noted(run, 'arc_override'), undefined)
  })

  it('untrusted sealer: G15', async () => {
    const run = await data(await sealed(otherKey, 'pass'), TRUSTED)
    assert.equal(line(run), G15)
    assert.equal(noted(run, 'arc_override'), undefined)
    assert.match(dmarcSaw(run) ?? '', /; ARC pass sealed by other\.example, i=1 dmarc=pass for sender\.example$/)
  })

  it('broken chain (a sealed header changed after sealing): G15', async () => {
    const good = await sealed(listKey, 'pass')
    // The ARC-Authentication-Results is sealed by the ARC-Seal: a changed word breaks the seal.
    const broken = good.replace('spf=pass smtp.mailfrom=sender.example', 'spf=pass smtp.mailfrom=sender.exampl')
    assert.notEqual(broken, good)
    const run = await data(broken, TRUSTED)
    assert.equal(line(run), G15)
    assert.match(dmarcSaw(run) ?? '', /; ARC fail: /)
    // The Subject is signed by the ARC-Message-Signature: changed, the chain fails too.
    const resubjected = good.replace('Subject: [list] hello', 'Subject: [list] hello!')
    assert.equal(line(await data(resubjected, TRUSTED)), G15)
  })

  it('trusted sealer, but dmarc=fail in the ARC-Authentication-Results i=1: G15', async () => {
    const run = await data(await sealed(listKey, 'fail'), TRUSTED)
    assert.equal(line(run), G15)
    assert.match(dmarcSaw(run) ?? '', /; ARC pass sealed by lists\.example, i=1 dmarc=fail for sender\.example$/)
  })

  it('override_domains: no G15 without any ARC, override_domain recorded, no ARC verified', async () => {
    const run = await data(await sealed(otherKey, 'fail'), { ...TRUSTED, override_domains: 'sender.example' })
    assert.equal(run.stop, undefined)
    assert.equal(noted(run, 'override_domain'), 'sender.example')
    assert.equal(dmarcSaw(run), 'DMARC fail for sender.example, policy reject (sender.example); not refused: in [dmarc] override_domains (override_domain)')
    assert.equal(arcVerifications, 0)
  })

  it('two hops: the newest seal by the trusted list, dmarc=pass in the first hop\'s results: no G15; dmarc=fail at i=1: G15', async () => {
    const run = await data(await sealed(listKey, 'fail', await sealed(otherKey, 'pass'), 'pass'), TRUSTED)
    assert.equal(run.stop, undefined)
    assert.equal(noted(run, 'arc_override'), 'lists.example for sender.example')
    const failed = await data(await sealed(listKey, 'pass', await sealed(otherKey, 'fail'), 'pass'), TRUSTED)
    assert.equal(line(failed), G15)
  })

  it('a seal key that answers past the time bound: the chain fails, G15', async () => {
    // The older seal's key is asked only by the ARC verification.
    const run = await data(await sealed(listKey, 'pass', await sealed(slowKey, 'pass'), 'pass'), TRUSTED, undefined, 900)
    assert.equal(line(run), G15)
    // The key lookup answers ETIMEOUT at the bound: mailauth gives no comment for it.
    assert.equal(dmarcSaw(run), 'DMARC fail for sender.example, policy reject (sender.example); ARC fail')
  })

  it('the seals are verified only for a message that would get G15, with trusted sealers set', async () => {
    const message = await sealed(listKey, 'pass')
    // DMARC passes (SPF aligned): nothing to lift.
    const direct = await data(message, TRUSTED, { ip: '198.51.100.7', mailFrom: 'alice@sender.example' })
    assert.equal(direct.stop, undefined)
    assert.equal(dmarcSaw(direct), 'DMARC pass for sender.example, policy reject (sender.example)')
    assert.equal(arcVerifications, 0)
    // No trusted sealers: G15 without verifying.
    assert.equal(line(await data(message, {})), G15)
    assert.equal(arcVerifications, 0)
  })
})
