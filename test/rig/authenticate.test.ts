// SPF, DKIM and DMARC through mailauth against a real DNS server on
// loopback, and the R2, G15 and G1E checks on what they find.
import { after, before, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import dns from 'node:dns'
import { RecordSpec, TestDns } from './dns-server'
import { DkimKey, makeDkimKey, signMessage } from './dkim'
import { AuthFacts, AuthInput, authenticate } from '../../plugins/lib/auth/authenticate'
import { dnsError } from '../../plugins/lib/dns/mailauth'
import { DnsRegistry } from '../../plugins/lib/dns/registry'
import { spfCheck } from '../../plugins/lib/checks/spf'
import { dmarcCheck } from '../../plugins/lib/checks/dmarc'
import { renderVerdict, Verdict } from '../../plugins/lib/codes/render'

// The file's resolvers, as a Haraka process's registry gives them (one per [dns] settings).
const registry = new DnsRegistry()
const mailauthResolver = (servers: readonly string[], timeoutSec: number): ReturnType<DnsRegistry['mailauth']> => registry.mailauth(servers, timeoutSec, 0)

const TIMEOUT_SEC = 0.3
const BOUND_MS = 3 * TIMEOUT_SEC * 1000
const GOOD_IP = '198.51.100.7'
const BAD_IP = '203.0.113.5'
const SPF_LIST = 'v=spf1 ip4:198.51.100.0/24 -all'
const DMARC_CFG = { reject: true, temperror: 'defer' } as const

let server: TestDns
let key: DkimKey
let subKey: DkimKey

const txt = (data: string | string[]): RecordSpec[] => [{ type: 'TXT', data }]

// What the test zone publishes; each block names the case it serves.
function zone(): Record<string, RecordSpec[]> {
  return {
    // SPF results for the MAIL FROM domain; sender.example also p=reject.
    'sender.example': txt(SPF_LIST),
    '_dmarc.sender.example': txt('v=DMARC1; p=reject'),
    'mx.sender.example': txt(SPF_LIST),
    'soft.example': txt('v=spf1 ip4:198.51.100.0/24 ~all'),
    'neutral.example': txt('v=spf1 ?all'),
    // RFC 7208 4.5: two SPF records are a permerror.
    'broken.example': [{ type: 'TXT', data: 'v=spf1 -all' }, { type: 'TXT', data: 'v=spf1 +all' }],
    // sfail.example's SPF record SERVFAILs (see start); its policy is reject.
    '_dmarc.sfail.example': txt('v=DMARC1; p=reject'),
    // quarantine and none.
    'quar.example': txt(SPF_LIST),
    '_dmarc.quar.example': txt('v=DMARC1; p=quarantine'),
    'monitor.example': txt(SPF_LIST),
    '_dmarc.monitor.example': txt('v=DMARC1; p=none'),
    // sp: the parent only monitors, its subdomains are rejected.
    '_dmarc.parent.example': txt('v=DMARC1; p=none; sp=reject'),
    'parent.example': txt(SPF_LIST),
    'sub.parent.example': txt(SPF_LIST),
    // Only the organizational domain publishes.
    '_dmarc.org.example': txt('v=DMARC1; p=reject'),
    'mail.org.example': txt(SPF_LIST),
    // np: a subdomain that does not exist.
    '_dmarc.np.example': txt('v=DMARC1; p=none; sp=none; np=reject'),
    'real.np.example': [{ type: 'A', data: '192.0.2.1' }, ...txt(SPF_LIST)],
    // aspf=s and its relaxed twin: SPF passes for a subdomain of the From domain.
    '_dmarc.strict.example': txt('v=DMARC1; p=reject; aspf=s'),
    'mail.strict.example': txt(SPF_LIST),
    '_dmarc.relaxed.example': txt('v=DMARC1; p=reject'),
    'mail.relaxed.example': txt(SPF_LIST),
    // adkim=s and its relaxed twin: DKIM signed by a subdomain of the From domain.
    '_dmarc.dkims.example': txt('v=DMARC1; p=reject; adkim=s'),
    'dkims.example': txt(SPF_LIST),
    '_dmarc.dkimr.example': txt('v=DMARC1; p=reject'),
    'dkimr.example': txt(SPF_LIST),
    // t=y lowers reject to quarantine; pct is not applied (RFC 9989).
    '_dmarc.testing.example': txt('v=DMARC1; p=reject; t=y'),
    'testing.example': txt(SPF_LIST),
    '_dmarc.pct.example': txt('v=DMARC1; p=reject; pct=0'),
    'pct.example': txt(SPF_LIST),
    // temporary failures: the policy (SERVFAIL, no answer), a DKIM key.
    'tempfail.example': txt(SPF_LIST),
    'silent.example': txt(SPF_LIST),
    'keyfail.example': txt(SPF_LIST),
    '_dmarc.keyfail.example': txt('v=DMARC1; p=reject'),
    // two slow answers (500 and 700 ms), each within the lookup timeout of the test that asks.
    'slow.example': txt(SPF_LIST),
    '_dmarc.slow.example': txt('v=DMARC1; p=reject'),
    // SPF that answers after the SPF share of a 450 ms bound; p=reject.
    'slowspf.example': txt(SPF_LIST),
    'mail.slowspf.example': txt(SPF_LIST),
    '_dmarc.slowspf.example': txt('v=DMARC1; p=reject'),
  }
}

function message(fromLines: string[], body = 'Hello there.\r\n'): string {
  return [
    ...fromLines.map((f) => `From: ${f}`),
    'To: bob@example.com',
    'Subject: test',
    'Date: Mon, 01 Jan 2024 00:00:00 +0000',
    'Message-ID: <t1@test.example>',
    '',
    body,
  ].join('\r\n')
}

function input(raw: string, over: Partial<AuthInput> = {}): AuthInput {
  return {
    raw: Buffer.from(raw),
    ip: BAD_IP,
    helo: 'client.test',
    mailFrom: 'alice@sender.example',
    mta: 'mx.test',
    resolver: mailauthResolver([server.address], TIMEOUT_SEC),
    ...over,
  }
}

function line(v: Verdict | undefined): string | undefined {
  return v && renderVerdict(v, 'data').line
}

/** The line the data plugin would send for these facts, R2 first. */
function reply(facts: AuthFacts): string | undefined {
  return line(spfCheck(facts, { reject_fail: true }) ?? dmarcCheck(facts, DMARC_CFG))
}

// Every lookup must go through the configured servers: mailauth falls back to
// node:dns's own resolve when handed none, so that is made to fail loudly.
const systemLookups: string[] = []
const systemResolve = dns.promises.resolve

before(async () => {
  ;(dns.promises as { resolve: unknown }).resolve = (name: string) => {
    systemLookups.push(name)
    return Promise.reject(dnsError('EREFUSED', `system resolver asked for ${name}`))
  }
  key = makeDkimKey('sel', 'sender.example')
  subKey = makeDkimKey('s2', 'mail.dkims.example', 'ed25519')
  const records = zone()
  records[key.txtName] = txt(key.txtValue)
  records[subKey.txtName] = txt(subKey.txtValue)
  records['s2._domainkey.mail.dkimr.example'] = txt(subKey.txtValue)
  server = await TestDns.start({
    records,
    servfail: ['sfail.example', '_dmarc.tempfail.example', 'sel._domainkey.keyfail.example'],
    silent: ['_dmarc.silent.example'],
  })
  server.delay('slow.example', 500)
  server.delay('_dmarc.slow.example', 700)
  server.delay('slowspf.example', 600)
  server.delay('mail.slowspf.example', 600)
})

after(async () => {
  ;(dns.promises as { resolve: unknown }).resolve = systemResolve
  await server.stop()
  assert.deepEqual(systemLookups, [], 'no lookup through the system resolver')
})

beforeEach(() => {
  server.queries = []
})

describe('resolver: node:dns shapes and codes through the configured servers', () => {
  it('answers TXT as lists of strings, keeps NXDOMAIN, NODATA, SERVFAIL and timeout apart', async () => {
    const r = mailauthResolver([server.address], TIMEOUT_SEC)
    assert.deepEqual(await r('monitor.example', 'TXT'), [[SPF_LIST]])
    assert.deepEqual(await r('real.np.example', 'A'), ['192.0.2.1'])
    const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: NodeJS.ErrnoException) => e.code)
    assert.equal(await code(r('nowhere.example', 'TXT')), 'ENOTFOUND')
    assert.equal(await code(r('real.np.example', 'MX')), 'ENODATA')
    assert.equal(await code(r('_dmarc.tempfail.example', 'TXT')), 'ESERVFAIL')
    const t0 = Date.now()
    assert.equal(await code(r('_dmarc.silent.example', 'TXT')), 'ETIMEOUT')
    // [dns] timeout holds: ETIMEOUT says the timeout ended the lookup; the
    // bound allows a loaded machine a second of late timers.
    assert.ok(Date.now() - t0 < TIMEOUT_SEC * 1000 + 1000, `${Date.now() - t0} ms, for a ${TIMEOUT_SEC} s timeout`)
  })

  it('is one resolver per [dns] settings', () => {
    assert.equal(mailauthResolver([server.address], TIMEOUT_SEC), mailauthResolver([server.address], TIMEOUT_SEC))
    assert.notEqual(mailauthResolver([server.address], 1), mailauthResolver([server.address], TIMEOUT_SEC))
    assert.equal(mailauthResolver([server.address], 2).timeoutMs, 2000)
  })
})

describe('SPF for the MAIL FROM domain (R2)', () => {
  const spfOf = async (mailFrom: string, ip = BAD_IP) => (await authenticate(input(message(['<a@monitor.example>']), { mailFrom, ip }))).spf

  it('pass, fail, softfail, neutral, none, permerror, temperror', async () => {
    assert.deepEqual({ ...(await spfOf('alice@sender.example', GOOD_IP)), reason: undefined }, { result: 'pass', domain: 'sender.example', source: 'mailauth', reason: undefined })
    assert.equal((await spfOf('alice@sender.example')).result, 'fail')
    assert.equal((await spfOf('alice@soft.example')).result, 'softfail')
    assert.equal((await spfOf('alice@neutral.example')).result, 'neutral')
    assert.equal((await spfOf('alice@nowhere.example')).result, 'none')
    assert.equal((await spfOf('alice@broken.example')).result, 'permerror')
    assert.equal((await spfOf('alice@sfail.example')).result, 'temperror')
  })

  it('only fail is refused, byte-exact', async () => {
    const expect: Record<string, string | undefined> = {
      'alice@sender.example': '550 5.1.0 Sender is not allowed to send from sender.example',
      'alice@soft.example': undefined,
      'alice@neutral.example': undefined,
      'alice@nowhere.example': undefined,
      'alice@broken.example': undefined,
      'alice@sfail.example': undefined,
    }
    for (const [mailFrom, want] of Object.entries(expect)) {
      const spf = await spfOf(mailFrom)
      assert.equal(line(spfCheck({ spf }, { reject_fail: true })), want, mailFrom)
    }
  })

  it('the null sender: SPF checks the HELO domain (RFC 7208 2.4)', async () => {
    const f = await authenticate(input(message(['<a@monitor.example>']), { mailFrom: '', helo: 'mx.sender.example' }))
    assert.deepEqual([f.spf.result, f.spf.domain], ['fail', 'mx.sender.example'])
    const g = await authenticate(input(message(['<a@monitor.example>']), { mailFrom: '', helo: 'mx.sender.example', ip: GOOD_IP }))
    assert.equal(g.spf.result, 'pass')
  })

  it('the result haraka-plugin-spf gave is used, and SPF is not looked up again', async () => {
    const f = await authenticate(input(message(['<alice@sender.example>']), { spfFromHaraka: { result: 'pass', domain: 'Sender.Example' } }))
    assert.deepEqual(f.spf, { result: 'pass', domain: 'sender.example', source: 'haraka-plugin-spf' })
    assert.equal(f.dmarc?.result, 'pass', 'the given pass aligns')
    assert.deepEqual(server.queries.filter((q) => q.name === 'sender.example'), [], 'no SPF query')
    assert.ok(server.queries.some((q) => q.name === '_dmarc.sender.example'), 'DMARC was looked up')
    const g = await authenticate(input(message(['<alice@sender.example>']), { ip: GOOD_IP, spfFromHaraka: { result: 'fail', domain: 'sender.example' } }))
    assert.equal(reply(g), '550 5.1.0 Sender is not allowed to send from sender.example')
  })
})

describe('DMARC policies (G15)', () => {
  const run = (from: string, over: Partial<AuthInput> = {}) => authenticate(input(message([`Alice <${from}>`]), { mailFrom: from, ...over }))

  it('reject: an unaligned message is refused with the policy domain', async () => {
    const f = await run('alice@sender.example', { mailFrom: 'bounce@elsewhere.example' })
    assert.equal(f.dmarc?.result, 'fail')
    assert.equal(f.dmarc?.policy, 'reject')
    assert.equal(line(dmarcCheck(f, DMARC_CFG)), '550 5.7.1 Email rejected per DMARC policy for sender.example (G15)')
    assert.equal(dmarcCheck(f, { ...DMARC_CFG, reject: false }), undefined, '[dmarc] reject=false')
  })

  it('reject with SPF aligned and passing: accepted', async () => {
    const f = await run('alice@sender.example', { ip: GOOD_IP })
    assert.deepEqual([f.dmarc?.result, f.dmarc?.alignment], ['pass', { spf: true, dkim: false }])
    assert.equal(reply(f), undefined)
  })

  it('quarantine and none: the fail is recorded and accepted', async () => {
    const q = await run('alice@quar.example')
    assert.deepEqual([q.dmarc?.result, q.dmarc?.policy], ['fail', 'quarantine'])
    assert.equal(dmarcCheck(q, DMARC_CFG), undefined)
    const n = await run('alice@monitor.example')
    assert.deepEqual([n.dmarc?.result, n.dmarc?.policy], ['fail', 'none'])
    assert.equal(dmarcCheck(n, DMARC_CFG), undefined)
  })

  it('no record: none, accepted', async () => {
    const f = await run('alice@nowhere.example')
    assert.equal(f.dmarc?.result, 'none')
    assert.equal(reply(f), undefined)
  })

  it('sp applies to a subdomain, p to the domain itself', async () => {
    const sub = await run('alice@sub.parent.example')
    assert.deepEqual([sub.dmarc?.result, sub.dmarc?.policy, sub.dmarc?.domain, sub.dmarc?.fromDomain], ['fail', 'reject', 'parent.example', 'sub.parent.example'])
    assert.equal(line(dmarcCheck(sub, DMARC_CFG)), '550 5.7.1 Email rejected per DMARC policy for parent.example (G15)')
    const top = await run('alice@parent.example')
    assert.deepEqual([top.dmarc?.result, top.dmarc?.policy], ['fail', 'none'])
    assert.equal(dmarcCheck(top, DMARC_CFG), undefined)
  })

  it('organizational domain: the record only at the org domain applies, {DMARC DOMAIN} is the org domain', async () => {
    const f = await run('alice@mail.org.example')
    assert.deepEqual([f.dmarc?.policy, f.dmarc?.domain], ['reject', 'org.example'])
    assert.equal(line(dmarcCheck(f, DMARC_CFG)), '550 5.7.1 Email rejected per DMARC policy for org.example (G15)')
    const ok = await run('alice@mail.org.example', { ip: GOOD_IP })
    assert.equal(ok.dmarc?.result, 'pass')
  })

  it('np applies to a subdomain that does not exist, sp to one that does', async () => {
    const ghost = await run('alice@ghost.np.example', { mailFrom: 'bounce@elsewhere.example' })
    assert.deepEqual([ghost.dmarc?.result, ghost.dmarc?.policy, ghost.dmarc?.domain], ['fail', 'reject', 'np.example'])
    const real = await run('alice@real.np.example')
    assert.deepEqual([real.dmarc?.result, real.dmarc?.policy], ['fail', 'none'])
  })

  it('t=y lowers reject to quarantine; pct is not applied (mailauth follows RFC 9989)', async () => {
    const t = await run('alice@testing.example')
    assert.deepEqual([t.dmarc?.result, t.dmarc?.policy], ['fail', 'quarantine'])
    assert.equal(dmarcCheck(t, DMARC_CFG), undefined)
    const pct = await run('alice@pct.example')
    assert.deepEqual([pct.dmarc?.result, pct.dmarc?.policy], ['fail', 'reject'])
  })
})

describe('alignment: relaxed and strict', () => {
  it('aspf=s: SPF passing for a subdomain does not align; relaxed it does', async () => {
    const strict = await authenticate(input(message(['<alice@strict.example>']), { mailFrom: 'bounce@mail.strict.example', ip: GOOD_IP }))
    assert.equal(strict.spf.result, 'pass')
    assert.deepEqual([strict.dmarc?.result, strict.dmarc?.alignment?.spf], ['fail', false])
    assert.equal(reply(strict), '550 5.7.1 Email rejected per DMARC policy for strict.example (G15)')
    const relaxed = await authenticate(input(message(['<alice@relaxed.example>']), { mailFrom: 'bounce@mail.relaxed.example', ip: GOOD_IP }))
    assert.deepEqual([relaxed.dmarc?.result, relaxed.dmarc?.alignment?.spf], ['pass', true])
    assert.equal(reply(relaxed), undefined)
  })

  it('adkim=s: a signature by a subdomain does not align; relaxed it does', async () => {
    const sign = (from: string, d: string) => signMessage(message([`<${from}>`]), { domain: d, selector: 's2', privateKey: subKey.privateKey })
    const strict = await authenticate(input(await sign('alice@dkims.example', 'mail.dkims.example'), { mailFrom: 'alice@dkims.example' }))
    assert.deepEqual(strict.dkim.map((d) => [d.domain, d.result]), [['mail.dkims.example', 'pass']])
    assert.deepEqual([strict.dmarc?.result, strict.dmarc?.alignment], ['fail', { spf: false, dkim: false }])
    assert.equal(line(dmarcCheck(strict, DMARC_CFG)), '550 5.7.1 Email rejected per DMARC policy for dkims.example (G15)')
    const relaxed = await authenticate(input(await sign('alice@dkimr.example', 'mail.dkimr.example'), { mailFrom: 'alice@dkimr.example' }))
    assert.deepEqual([relaxed.dmarc?.result, relaxed.dmarc?.alignment], ['pass', { spf: false, dkim: true }])
  })
})

describe('DKIM signed by the test, key in the test DNS', () => {
  it('fails SPF but passes DMARC through the aligned signature: accepted, no R2', async () => {
    const raw = await signMessage(message(['Alice <alice@sender.example>']), { domain: 'sender.example', selector: 'sel', privateKey: key.privateKey })
    const f = await authenticate(input(raw))
    assert.equal(f.spf.result, 'fail')
    assert.deepEqual(f.dkim, [{ domain: 'sender.example', result: 'pass', selector: 'sel' }])
    assert.deepEqual([f.dmarc?.result, f.dmarc?.alignment], ['pass', { spf: false, dkim: true }])
    assert.equal(spfCheck(f, { reject_fail: true }), undefined, 'RFC 7489 10.1')
    assert.equal(reply(f), undefined)
    assert.ok(server.queries.some((q) => q.name === key.txtName), 'the key was fetched from the test DNS')
  })

  it('a body changed after signing: DKIM fails, DMARC fails, G15 (R2 first)', async () => {
    const raw = await signMessage(message(['<alice@sender.example>']), { domain: 'sender.example', selector: 'sel', privateKey: key.privateKey })
    const f = await authenticate(input(raw.replace('Hello there.', 'Hello t h e r e.')))
    assert.equal(f.dkim[0].result, 'neutral')
    assert.equal(f.dmarc?.result, 'fail')
    assert.equal(reply(f), '550 5.1.0 Sender is not allowed to send from sender.example')
    assert.equal(line(dmarcCheck(f, DMARC_CFG)), '550 5.7.1 Email rejected per DMARC policy for sender.example (G15)')
  })

  it('unsigned: no DKIM rows', async () => {
    const f = await authenticate(input(message(['<alice@monitor.example>']), { mailFrom: 'alice@monitor.example', ip: GOOD_IP }))
    assert.deepEqual(f.dkim, [])
    assert.equal(f.dmarc?.result, 'pass')
  })
})

describe('temporary failures (G1E) within the bound', () => {
  it('SERVFAIL on _dmarc: temperror, G1E with the From address; accepted with temperror=accept', async () => {
    const f = await authenticate(input(message(['Alice <alice@tempfail.example>']), { mailFrom: 'alice@tempfail.example' }))
    assert.equal(f.dmarc?.result, 'temperror')
    assert.equal(line(dmarcCheck(f, DMARC_CFG)), '450 4.4.0 alice@tempfail.example: Temporary DMARC DNS lookup failure (G1E)')
    assert.equal(dmarcCheck(f, { reject: true, temperror: 'accept' }), undefined)
  })

  it('no answer on _dmarc: temperror after one lookup timeout, well within the bound', async () => {
    const t0 = Date.now()
    const f = await authenticate(input(message(['<alice@silent.example>']), { mailFrom: 'alice@silent.example' }))
    const took = Date.now() - t0
    assert.equal(f.dmarc?.result, 'temperror')
    // One lookup timeout is about 300 ms; the bound, three times that, is the
    // promise, and leaves a loaded machine 600 ms of late timers.
    assert.ok(took < BOUND_MS, `took ${took} ms`)
    assert.equal(line(dmarcCheck(f, DMARC_CFG)), '450 4.4.0 alice@silent.example: Temporary DMARC DNS lookup failure (G1E)')
  })

  it('the policy lookup starts at once: SPF at 500 ms and the policy at 700 ms fit a 1150 ms bound', async () => {
    // A lookup timeout above both delays: only the bound can cut them. One
    // after the other they would take 1200 ms, past the bound, and the policy
    // would be a temperror: both passing shows the two ran side by side. The
    // time is not asserted against the bound; the verdicts are the evidence.
    const t0 = Date.now()
    const resolver = mailauthResolver([server.address], 1)
    const f = await authenticate(input(message(['<alice@slow.example>']), { mailFrom: 'alice@slow.example', ip: GOOD_IP, maxLookupsMs: 1150, resolver }))
    const took = Date.now() - t0
    assert.equal(f.spf.result, 'pass', 'SPF answered at 500 ms, within its two thirds of the bound')
    assert.equal(f.dmarc?.result, 'pass', 'the policy answered at 700 ms')
    assert.ok(took >= 690, `took ${took} ms: the answers were not delayed`)
  })

  it('slow SPF of a MAIL FROM domain that cannot align: cut at two thirds of the bound, the reject stands (G15)', async () => {
    const t0 = Date.now()
    const f = await authenticate(input(message(['<alice@sender.example>']), { mailFrom: 'bounce@slowspf.example', maxLookupsMs: 450 }))
    const took = Date.now() - t0
    assert.equal(f.spf.result, 'temperror', 'SPF would answer at 600 ms')
    assert.deepEqual([f.dmarc?.result, f.dmarc?.policy, f.dmarc?.uncertain], ['fail', 'reject', undefined])
    assert.equal(line(dmarcCheck(f, DMARC_CFG)), '550 5.7.1 Email rejected per DMARC policy for sender.example (G15)')
    // SPF's temperror shows the cut; the time shows it came at two thirds of
    // the bound, not sooner, and that the evaluation ended near the bound (the
    // promise), with a second for a loaded machine's late timers.
    assert.ok(took >= 290 && took < 450 + 1000, `took ${took} ms`)
  })

  it('slow SPF of a MAIL FROM domain that could align (a subdomain of the From domain): G1E', async () => {
    const f = await authenticate(input(message(['<alice@slowspf.example>']), { mailFrom: 'bounce@mail.slowspf.example', maxLookupsMs: 450 }))
    assert.equal(f.spf.result, 'temperror')
    assert.match(f.dmarc?.uncertain ?? '', /SPF temperror for mail\.slowspf\.example/)
    assert.equal(line(dmarcCheck(f, DMARC_CFG)), '450 4.4.0 alice@slowspf.example: Temporary DMARC DNS lookup failure (G1E)')
  })

  it('SPF temperror that could have aligned turns a reject into G1E, not G15', async () => {
    const f = await authenticate(input(message(['<alice@sfail.example>']), { mailFrom: 'alice@sfail.example' }))
    assert.equal(f.spf.result, 'temperror')
    assert.deepEqual([f.dmarc?.result, f.dmarc?.policy], ['fail', 'reject'])
    assert.match(f.dmarc?.uncertain ?? '', /SPF temperror for sfail\.example/)
    assert.equal(line(dmarcCheck(f, DMARC_CFG)), '450 4.4.0 alice@sfail.example: Temporary DMARC DNS lookup failure (G1E)')
    assert.equal(dmarcCheck(f, { reject: true, temperror: 'accept' }), undefined)
    assert.equal(spfCheck(f, { reject_fail: true }), undefined, 'temperror is accepted by R2')
  })

  it('an SPF temperror that could not align leaves the reject standing', async () => {
    const f = await authenticate(input(message(['<alice@sender.example>']), { mailFrom: 'bounce@sfail.example' }))
    assert.equal(f.spf.result, 'temperror')
    assert.equal(f.dmarc?.uncertain, undefined)
    assert.equal(line(dmarcCheck(f, DMARC_CFG)), '550 5.7.1 Email rejected per DMARC policy for sender.example (G15)')
  })

  it('a DKIM key lookup SERVFAIL for an aligned signature: G1E, not G15', async () => {
    const raw = await signMessage(message(['<alice@keyfail.example>']), { domain: 'keyfail.example', selector: 'sel', privateKey: key.privateKey })
    const f = await authenticate(input(raw, { mailFrom: 'alice@keyfail.example' }))
    assert.deepEqual(f.dkim.map((d) => d.result), ['temperror'])
    assert.match(f.dmarc?.uncertain ?? '', /DKIM temperror for d=keyfail\.example/)
    assert.equal(line(dmarcCheck(f, DMARC_CFG)), '450 4.4.0 alice@keyfail.example: Temporary DMARC DNS lookup failure (G1E)')
  })
})

describe('From header edge cases', () => {
  const run = (fromLines: string[], over: Partial<AuthInput> = {}) => authenticate(input(message(fromLines), { mailFrom: 'bounce@elsewhere.example', ...over }))

  it('no From header: no DMARC, accepted, the reason recorded', async () => {
    const f = await run([])
    assert.equal(f.dmarc, undefined)
    assert.deepEqual([f.from.headerCount, f.from.addresses], [0, []])
    assert.match(f.from.note ?? '', /no From header/)
    assert.equal(reply(f), undefined)
    assert.equal(server.queries.filter((q) => q.name.startsWith('_dmarc.')).length, 0)
  })

  it('a From with no address (group syntax): no DMARC, accepted', async () => {
    const f = await run(['undisclosed-recipients:;'])
    assert.equal(f.dmarc, undefined)
    assert.deepEqual([f.from.headerCount, f.from.addresses], [1, []])
    assert.match(f.from.note ?? '', /no address/)
    assert.equal(reply(f), undefined)
  })

  it('a From with only a name, or an address without a DNS domain: no DMARC, accepted', async () => {
    const name = await run(['alice'])
    assert.equal(name.dmarc, undefined)
    assert.match(name.from.note ?? '', /From has no address/)
    const literal = await run(['<x@[192.0.2.1]>'])
    assert.equal(literal.dmarc, undefined)
    assert.match(literal.from.note ?? '', /no From address has a domain \(x@\[192\.0\.2\.1\]\)/)
  })

  it('several addresses, one domain: evaluated once', async () => {
    const f = await run(['<a@sender.example>, <b@Sender.Example>'], { ip: GOOD_IP, mailFrom: 'x@sender.example' })
    assert.deepEqual(f.from.domains, ['sender.example'])
    assert.equal(f.dmarc?.result, 'pass')
    assert.equal(f.dmarc?.domains, undefined)
  })

  it('several domains in one From: each evaluated, a reject fail wins', async () => {
    const f = await run(['<a@monitor.example>, <b@sender.example>'])
    assert.deepEqual(f.from.domains, ['monitor.example', 'sender.example'])
    assert.deepEqual(f.dmarc?.domains?.map((d) => [d.fromDomain, d.result, d.policy]), [
      ['sender.example', 'fail', 'reject'],
      ['monitor.example', 'fail', 'none'],
    ])
    assert.match(f.from.note ?? '', /2 From domains/)
    assert.equal(line(dmarcCheck(f, DMARC_CFG)), '550 5.7.1 Email rejected per DMARC policy for sender.example (G15)')
  })

  it('several domains: a temperror beside a quarantine gives G1E for the address that failed', async () => {
    const f = await run(['<a@quar.example>, <b@tempfail.example>'])
    assert.equal(f.dmarc?.result, 'temperror')
    assert.equal(line(dmarcCheck(f, DMARC_CFG)), '450 4.4.0 b@tempfail.example: Temporary DMARC DNS lookup failure (G1E)')
  })

  it('several From headers: the domains of all are evaluated, the strictest wins', async () => {
    const f = await run(['<a@monitor.example>', '<b@sender.example>'])
    assert.equal(f.from.headerCount, 2)
    assert.match(f.from.note ?? '', /2 From headers/)
    assert.equal(line(dmarcCheck(f, DMARC_CFG)), '550 5.7.1 Email rejected per DMARC policy for sender.example (G15)')
  })

  it('a second From cannot hide a failing one behind a passing one', async () => {
    const raw = await signMessage(message(['<a@sender.example>']), { domain: 'sender.example', selector: 'sel', privateKey: key.privateKey })
    // Added above the signed one: the signature still verifies (RFC 6376
    // 5.4.2 signs the last instance), so sender.example passes.
    const f = await authenticate(input(raw.replace('From: <a@sender.example>', 'From: <b@org.example>\r\nFrom: <a@sender.example>'), { mailFrom: 'bounce@elsewhere.example' }))
    assert.deepEqual(f.dmarc?.domains?.map((d) => [d.fromDomain, d.result]), [['org.example', 'fail'], ['sender.example', 'pass']])
    assert.equal(line(dmarcCheck(f, DMARC_CFG)), '550 5.7.1 Email rejected per DMARC policy for org.example (G15)')
  })
})
