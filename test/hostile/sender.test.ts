// Hostile senders through a real Haraka with the four plugins and the
// package defaults, and a real DNS server: placeholder text in an address,
// SPF and DMARC records that answer slowly on purpose, a From field of 5,000
// domains and 300 DKIM signatures (DNS queries counted at the server), and
// From addresses made to blow up or poison the reply line. Each session runs
// with the probe (rig/probe.ts): the exact reply, never 250, and no
// greeting slower than 250 ms meanwhile.
import { after, before, describe, test, TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { Haraka } from '../rig/haraka'
import { TestDns } from '../rig/dns-server'
import * as gen from '../rig/hostile-gen'
import { describeProbe, HOSTILE_BASE_ZONE, hostileSession, HostileResult, HostileSession } from '../rig/hostile-session'

const ge = (sender: string): string => `554 5.7.1 ${sender}: Sender address rejected: Blocked by this recipient`
const g14 = (sender: string): string => `550 5.7.1 ${sender}: Sender's MX record not allowed (G14)`
const g15 = (d: string): string => `550 5.7.1 Email rejected per DMARC policy for ${d} (G15)`
const G1E_HEAD = '450 4.4.0 '
const G1E_TAIL = ': Temporary DMARC DNS lookup failure (G1E)'
/** The issue's bound on a greeting while a hostile message is handled. */
const PROBE_MAX_MS = 250
/** The issue's per-message DNS lookup budget ([dns] max_lookups=30). */
const MAX_QUERIES = 30
/** [dmarc] max_dkim_signatures: signatures verified per message, each one key lookup. */
const MAX_SIGNATURES = 10
/** RFC 5321 4.5.3.1.5: 512 octets with the CRLF. */
const MAX_REPLY_LINE = 510
/** How long the test DNS takes to answer the SPF include of slowspf.example: under [dns] timeout=5, over most of it. */
const SLOW_MS = 4500
/**
 * How long the DMARC record of slowdmarc.example takes: well under [dns]
 * timeout=5, and over the 1 s after which Node 24's resolver (c-ares) was
 * seen giving up once it had had a run of fast answers.
 */
const SLOW_POLICY_MS = 2500

const mx = (domain: string): Record<string, Array<{ type: 'MX'; data: { preference: number; exchange: string } }>> =>
  ({ [domain]: [{ type: 'MX', data: { preference: 10, exchange: 'mx.sender.example' } }] })

let dns: TestDns
let h: Haraka
let nextIp = 1

before(async () => {
  dns = await TestDns.start({
    records: {
      ...HOSTILE_BASE_ZONE,
      ...mx('blocked.example'),
      ...mx('amp.example'),
      // G14: a sender domain whose MX is at a blocked provider.
      'badmx.example': [{ type: 'MX', data: { preference: 10, exchange: 'mx1.badprovider.net' } }],
      'mx1.badprovider.net': [{ type: 'A', data: '203.0.113.50' }],
      // e: the MAIL FROM domain's SPF includes a name that answers slowly;
      // softfail, so that SPF alone never refuses (R2 is for "fail").
      ...mx('slowspf.example'),
      'slowspf.example': [{ type: 'TXT', data: 'v=spf1 include:slow.slowspf.example ~all' }],
      'slow.slowspf.example': [{ type: 'TXT', data: 'v=spf1 ip4:192.0.2.0/24 ~all' }],
      '_dmarc.rejecting.example': [{ type: 'TXT', data: 'v=DMARC1; p=reject' }],
      '_dmarc.signers.example': [{ type: 'TXT', data: 'v=DMARC1; p=reject' }],
      // The From domain's own policy answers slowly, under [dns] timeout.
      '_dmarc.slowdmarc.example': [{ type: 'TXT', data: 'v=DMARC1; p=reject' }],
    },
    servfail: ['_dmarc.dmarcfail.example'],
  })
  dns.delay('slow.slowspf.example', SLOW_MS)
  dns.delay('_dmarc.slowdmarc.example', SLOW_POLICY_MS)
  h = await Haraka.start({
    dns: dns.address,
    logLevel: 'notice',
    // GE: bob@example.com takes nothing from blocked.example.
    config: {
      'support-codes.sender_blocks': 'bob@example.com @blocked.example\n',
      'support-codes.mx_blocklist': '.badprovider.net\n',
    },
  })
})
after(async () => {
  await h?.stop()
  await dns?.stop()
})

function send(s: Omit<HostileSession, 'ip'>): Promise<HostileResult> {
  return hostileSession(h, { ip: `198.18.15.${nextIp++}`, ...s })
}

function message(from: string): Buffer {
  return Buffer.from(`From: ${from}\r\nTo: bob@example.com\r\nSubject: hostile\r\nDate: Sat, 28 Nov 2026 12:00:00 +0000\r\nMessage-ID: <h${nextIp}@hostile.test>\r\n\r\nHello.\r\n`)
}

/** The reply, whether it was 250, and the probe, compared in one assertion so that a failure shows all three. */
function expectOutcome(t: TestContext, r: HostileResult, want: string | ((line: string) => boolean)): void {
  t.diagnostic(`${JSON.stringify(r.last.length > 200 ? r.last.slice(0, 200) + '...' : r.last)} in ${r.dataMs ?? '-'} ms; ${describeProbe(r.probe)}`)
  const got = {
    reply: typeof want === 'string' ? r.last : want(r.last) ? 'as wanted' : r.last,
    accepted: /^250/.test(r.last) || /^250/.test(r.data?.text ?? ''),
    probeWorstUnderBound: r.probe.worstMs < PROBE_MAX_MS,
    probeFailures: r.probe.failures,
  }
  assert.deepEqual(got, { reply: typeof want === 'string' ? want : 'as wanted', accepted: false, probeWorstUnderBound: true, probeFailures: [] }, describeProbe(r.probe))
}

describe('b: placeholder text in an address is an address, never a template', () => {
  // As Haraka's address parser gives them (checked: @haraka/email-address keeps the quotes of a quoted local part).
  const senders = ['${zone}@blocked.example', '"{DMARC DOMAIN}"@blocked.example', '{EMAIL}@blocked.example']
  for (const sender of senders) {
    test(`MAIL FROM:<${sender}> to a recipient who blocks the domain: GE with the address as sent`, async (t) => {
      const r = await send({ from: sender, message: message('alice@sender.example') })
      assert.equal(r.mail.code, 250, r.mail.text)
      expectOutcome(t, r, ge(sender))
      assert.equal(r.data, undefined, 'no DATA after a refused RCPT')
    })
  }

  test('MAIL FROM:<${ip}@badmx.example>, a domain whose MX is blocked: G14 with the address as sent', async (t) => {
    const r = await send({ from: '${ip}@badmx.example', message: message('alice@sender.example') })
    expectOutcome(t, r, g14('${ip}@badmx.example'))
  })

  test('From: ${zone}@dmarcfail.example, whose DMARC lookup SERVFAILs: G1E with the address as written', async (t) => {
    const r = await send({ from: 'alice@sender.example', message: message('${zone}@dmarcfail.example') })
    expectOutcome(t, r, `${G1E_HEAD}\${zone}@dmarcfail.example${G1E_TAIL}`)
  })
})

describe('e: slow DNS chosen by the sender', () => {
  test(`SPF include answering after ${SLOW_MS} ms, From at a domain with p=reject: G15, not G1E`, async (t) => {
    const r = await send({ from: 'bounce@slowspf.example', message: message('alice@rejecting.example') })
    expectOutcome(t, r, g15('rejecting.example'))
  })
})

describe('e: a slow answer within [dns] timeout is waited for', () => {
  test(`the From domain's DMARC record answering after ${SLOW_POLICY_MS} ms, after a run of fast answers: G15, not G1E`, async (t) => {
    // A run of fast answers first: sessions whose lookups all answer at once.
    for (let i = 0; i < 3; i++) await send({ from: 'alice@amp.example', message: message('alice@signers.example') })
    const r = await send({ from: 'alice@amp.example', message: message('alice@slowdmarc.example') })
    expectOutcome(t, r, g15('slowdmarc.example'))
  })
})

describe('f: amplification', () => {
  test('a From field of 5,000 addresses at distinct domains: G15 for the 11th, at most 30 DNS queries', async (t) => {
    let from = Infinity
    const r = await send({ from: 'alice@amp.example', message: gen.manyFromDomains(5000), beforeMessage: () => { from = dns.queries.length } })
    // What the message asked: not the envelope's checks before DATA, nor the probe's connections (their PTR and DNS list lookups).
    const asked = dns.queries.slice(from).filter((q) => !q.name.endsWith('.in-addr.arpa') && !q.name.endsWith('senderscore.com') && !q.name.endsWith('spamhaus.org'))
    t.diagnostic(`${asked.length} DNS queries: ${asked.slice(0, 40).map((q) => `${q.type} ${q.name}`).join(', ')}`)
    expectOutcome(t, r, g15(gen.fromDomain(11)))
    assert.ok(asked.length <= MAX_QUERIES, `${asked.length} DNS queries for one message (at most ${MAX_QUERIES})`)
  })
})

describe('f: amplification through signatures', () => {
  test('300 aligned DKIM signatures, each of another subdomain with no key, on a From at a domain with p=reject: G15, at most 30 DNS queries', async (t) => {
    let from = Infinity
    const r = await send({ from: 'alice@amp.example', message: gen.manySignatures('signers.example', 300), beforeMessage: () => { from = dns.queries.length } })
    const asked = dns.queries.slice(from).filter((q) => !q.name.endsWith('.in-addr.arpa') && !q.name.endsWith('senderscore.com') && !q.name.endsWith('spamhaus.org'))
    const keys = asked.filter((q) => q.name.includes('._domainkey.'))
    t.diagnostic(`${asked.length} DNS queries, ${keys.length} for keys: ${asked.slice(0, 40).map((q) => `${q.type} ${q.name}`).join(', ')}`)
    expectOutcome(t, r, g15('signers.example'))
    assert.ok(asked.length <= MAX_QUERIES, `${asked.length} DNS queries for one message (at most ${MAX_QUERIES})`)
    assert.ok(keys.length <= MAX_SIGNATURES, `${keys.length} key lookups (at most ${MAX_SIGNATURES} signatures verified)`)
  })
})

describe('g: reply lines are bounded and printable', () => {
  const printable = (line: string): boolean => /^[\x20-\x7e]*$/.test(line)
  const g1eShape = (line: string): boolean =>
    Buffer.byteLength(line) <= MAX_REPLY_LINE && printable(line) && line.startsWith(G1E_HEAD) && line.endsWith(G1E_TAIL)

  test('a From local part of a 22 KB quoted string at a domain whose DMARC lookup SERVFAILs: one G1E line of at most 510 octets', async (t) => {
    const r = await send({ from: 'alice@sender.example', message: gen.longQuotedLocal('dmarcfail.example', 22 * 1024) })
    t.diagnostic(`reply line: ${Buffer.byteLength(r.last)} octets`)
    expectOutcome(t, r, g1eShape)
    assert.deepEqual(r.data?.lines.length, 1, 'one line')
  })

  test('C1 controls, U+2028 and U+2029 in the From address never reach the reply', async (t) => {
    const r = await send({ from: 'alice@sender.example', message: gen.controlCharsFrom('dmarcfail.example') })
    expectOutcome(t, r, g1eShape)
    assert.ok(r.last.endsWith(`@dmarcfail.example${G1E_TAIL}`), r.last)
  })
})
