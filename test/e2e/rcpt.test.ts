// End to end: the RCPT checks through a real Haraka, a real DNS server
// (listed, unlisted, error-answer, SERVFAIL and silent zones; MX records) and
// a real downstream SMTP server for callouts.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { stopwatch } from '../rig/replay'
import { Haraka, HarakaOptions } from '../rig/haraka'
import { TestDns, reverseName } from '../rig/dns-server'
import { Downstream } from '../rig/downstream'
import { Redis } from '../rig/redis'
import { freePort } from '../rig/ports'
import { SmtpClient, message, sendMail } from '../rig/smtp-client'
import { waitFor } from '../rig/wait'

const SS = 'bl.score.senderscore.com'
const XBL = 'xbl.spamhaus.org'
const g31 = (ip: string, result: string): string =>
  `554 5.7.1 ACL dns_rbl; Client host [${ip}] blocked using ${SS}=${result} Senderscore. Please visit https://senderscore.org/rtbl/ for more information on why this message could not be delivered (G31)`
const g32 = (ip: string, result: string): string =>
  `554 5.7.1 ACL dns_rbl; Client host [${ip}] blocked using ${XBL}=${result} Spamhaus XBL. Please visit http://www.spamhaus.org/lookup/ for more information on why this message could not be delivered (G32)`
const G28 = '451 4.7.1 Received too many messages from a new or untrusted IP'
const G30 = '450 4.2.1 Mailbox received too much email in a short period of time'
const g8 = (rcpt: string): string => `550 5.1.1 ${rcpt}: Email address could not be found, or was misspelled (G8, G9)`
const g6 = (rcpt: string): string => `450 4.4.1 ${rcpt}: The recipient's server was temporarily unavailable to accept your message (G6)`
const g7 = (rcpt: string): string => `550 5.7.1 ${rcpt}: The recipient's server refused to accept your message (G7)`
const g14 = (sender: string): string => `550 5.7.1 ${sender}: Sender's MX record not allowed (G14)`
const ge = (sender: string): string => `554 5.7.1 ${sender}: Sender address rejected: Blocked by this recipient`
const OK_RCPT = (rcpt: string): string => `250 recipient <${rcpt}> OK`

const CLEAN = '198.18.1.1'
const SS_LISTED = '198.18.1.2'
const XBL_LISTED = '198.18.1.3'
const BOTH_LISTED = '198.18.1.4'
const XBL_ERROR = '198.18.1.5' // 127.255.255.254: an error code
const SS_OUTSIDE = '198.18.1.6' // 10.0.0.1: outside 127/8
const SS_OTHER = '198.18.1.7' // 127.0.0.3: not in listed
const XBL_SEVERAL = '198.18.1.8' // 127.0.0.7 and 127.0.0.5

let dns: TestDns
let downstream: Downstream
let redis: Redis

before(async () => {
  dns = await TestDns.start({
    records: {
      // RFC 5782 5 test entries, so both zones pass their self-test.
      [`2.0.0.127.${SS}`]: [{ type: 'A', data: '127.0.0.2' }],
      [`2.0.0.127.${XBL}`]: [{ type: 'A', data: '127.0.0.4' }],
      [reverseName(SS_LISTED, SS)]: [{ type: 'A', data: '127.0.0.2' }],
      [reverseName(XBL_LISTED, XBL)]: [{ type: 'A', data: '127.0.0.4' }],
      [reverseName(BOTH_LISTED, SS)]: [{ type: 'A', data: '127.0.0.2' }],
      [reverseName(BOTH_LISTED, XBL)]: [{ type: 'A', data: '127.0.0.6' }],
      [reverseName(XBL_ERROR, XBL)]: [{ type: 'A', data: '127.255.255.254' }],
      [reverseName(SS_OUTSIDE, SS)]: [{ type: 'A', data: '10.0.0.1' }],
      [reverseName(SS_OTHER, SS)]: [{ type: 'A', data: '127.0.0.3' }],
      [reverseName(XBL_SEVERAL, XBL)]: [{ type: 'A', data: '127.0.0.7' }, { type: 'A', data: '127.0.0.5' }],
      // Sender domains for G14.
      'bad.example': [{ type: 'MX', data: { preference: 10, exchange: 'mx1.badprovider.net' } }],
      'mx1.badprovider.net': [{ type: 'A', data: '203.0.113.50' }],
      'ipmx.example': [{ type: 'MX', data: { preference: 10, exchange: 'mail.ipmx.example' } }],
      'mail.ipmx.example': [{ type: 'A', data: '192.0.2.77' }],
      'implicit.example': [{ type: 'A', data: '192.0.2.78' }],
      'nullmx.example': [{ type: 'MX', data: { preference: 0, exchange: '.' } }],
      'sender.example': [{ type: 'MX', data: { preference: 10, exchange: 'mx.sender.example' } }],
      'mx.sender.example': [{ type: 'A', data: '198.51.100.25' }],
    },
    servfail: ['servfail.example'],
  })
  downstream = await Downstream.start({
    answers: {
      'ok@callout.example': '250 2.1.5 OK',
      'gone@callout.example': '550 5.1.1 No such user',
      'refused@callout.example': '554 5.7.1 Not for you',
      'later@callout.example': '450 4.2.0 Try later',
      'hang@callout.example': 'hang',
    },
  })
  redis = await Redis.start()
})
after(async () => {
  await dns.stop()
  await downstream.stop()
  await redis.stop()
})

function node(ini: Record<string, string> = {}, opts: HarakaOptions = {}): Promise<Haraka> {
  return Haraka.start({ dns: dns.address, plugins: ['support-codes/rcpt'], ...opts, config: { ...ini, ...opts.config } })
}

/** One session: EHLO, MAIL FROM, RCPT TO for each; the RCPT replies, then QUIT. */
async function rcpts(h: Haraka, ip: string, from: string, to: string[]): Promise<string[]> {
  const c = await SmtpClient.connect({ port: h.port, proxyFrom: ip })
  try {
    await c.ehlo('client.test')
    const m = await c.send(`MAIL FROM:<${from}>`)
    assert.equal(m.code, 250, m.text)
    const out: string[] = []
    for (const r of to) out.push((await c.send(`RCPT TO:<${r}>`)).text)
    return out
  } finally {
    c.close()
  }
}

function send(h: Haraka, ip: string, from: string, to: string[]): ReturnType<typeof sendMail> {
  return sendMail({ port: h.port, proxyFrom: ip, helo: 'client.test', from, to, message: message({ from, to: to.join(', ') }) })
}

describe('G31, G32: DNS lists', () => {
  let h: Haraka
  before(async () => { h = await node({ 'support-codes.ini': '[dns]\ntimeout=1\n' }) })
  after(async () => { await h.stop() })

  test('a listed client gets the zone\'s line, byte for byte', async () => {
    assert.deepEqual(await rcpts(h, SS_LISTED, 'a@sender.example', ['bob@example.com']), [g31(SS_LISTED, '127.0.0.2')])
    assert.deepEqual(await rcpts(h, XBL_LISTED, 'a@sender.example', ['bob@example.com']), [g32(XBL_LISTED, '127.0.0.4')])
  })

  test('several zones: the first in [dnsbl] zones answers; several answers: the lowest', async () => {
    assert.deepEqual(await rcpts(h, BOTH_LISTED, 'a@sender.example', ['bob@example.com']), [g31(BOTH_LISTED, '127.0.0.2')])
    assert.deepEqual(await rcpts(h, XBL_SEVERAL, 'a@sender.example', ['bob@example.com']), [g32(XBL_SEVERAL, '127.0.0.5')])
  })

  test('error answers, answers outside 127/8 and answers not in listed never refuse', async () => {
    for (const ip of [CLEAN, XBL_ERROR, SS_OUTSIDE, SS_OTHER]) {
      assert.deepEqual(await rcpts(h, ip, 'a@sender.example', ['bob@example.com']), [OK_RCPT('bob@example.com')], ip)
    }
    await h.waitForLog(/xbl\.spamhaus\.org: answered 127\.255\.255\.254, an error code; not refused/)
    await h.waitForLog(/bl\.score\.senderscore\.com: answered 10\.0\.0\.1, outside 127\.0\.0\.0\/8; not refused/)
    await h.waitForLog(/bl\.score\.senderscore\.com answered 127\.0\.0\.3, not in its listed answers; not refused/)
  })
})

describe('DNS lists that fail', () => {
  test('SERVFAIL and silent zones never refuse, RCPT waits at most [dns] timeout, and they are switched off', async (t) => {
    const h = await node({
      'support-codes.ini': '[dns]\ntimeout=1\n',
      'support-codes-rcpt.ini': '[dnsbl]\nzones=broken,silent\nmax_errors=2\nrecheck=0\n\n[broken]\nzone=servfail.example\ncode=G31\nlisted=127.0.0.2\n\n[silent]\nzone=silent.example\ncode=G32\nlisted=127.0.0.2\n',
    })
    t.after(() => h.stop())
    dns.servfail(reverseName(CLEAN, 'servfail.example'), true)
    dns.silent(reverseName(CLEAN, 'silent.example'), true)
    t.after(() => { dns.servfail(reverseName(CLEAN, 'servfail.example'), false); dns.silent(reverseName(CLEAN, 'silent.example'), false) })
    for (let i = 0; i < 2; i++) {
      const t0 = stopwatch()
      assert.deepEqual(await rcpts(h, CLEAN, 'a@sender.example', ['bob@example.com']), [OK_RCPT('bob@example.com')])
      // [dns] timeout (1 s) holds, with 2 s for the session and a loaded machine.
      assert.ok(t0() < 1000 + 2000, `RCPT took ${t0()} ms`)
    }
    await h.waitForLog(/DNS list servfail\.example switched off: 2 errors in a row/)
    await h.waitForLog(/DNS list silent\.example switched off: 2 errors in a row, the last: lookup failed \(ETIMEOUT\)/)
  })

  test('a zone that fails its 127.0.0.2 test is off until it passes', async (t) => {
    const zone = 'late.example'
    dns.remove(`2.0.0.127.${zone}`)
    dns.set(reverseName(SS_LISTED, zone), [{ type: 'A', data: '127.0.0.2' }])
    const h = await node({
      'support-codes-rcpt.ini': `[dnsbl]\nzones=late\nrecheck=1\n\n[late]\nzone=${zone}\ncode=G31\nlisted=127.0.0.2\n`,
    })
    t.after(() => h.stop())
    await h.waitForLog(/DNS list late\.example switched off: failed its test: no answer for the test entry 127\.0\.0\.2/)
    assert.deepEqual(await rcpts(h, SS_LISTED, 'a@sender.example', ['bob@example.com']), [OK_RCPT('bob@example.com')])
    dns.set(`2.0.0.127.${zone}`, [{ type: 'A', data: '127.0.0.2' }])
    await h.waitForLog(/DNS list late\.example passed its test; in use again/, 5000)
    const line = (await rcpts(h, SS_LISTED, 'a@sender.example', ['bob@example.com']))[0]
    assert.equal(line, g31(SS_LISTED, '127.0.0.2').replace(SS, zone))
  })
})

describe('G28: new or untrusted IPs', () => {
  test('a new IP at [new_ip] limit gets 451 4.7.1', async (t) => {
    const h = await node({ 'support-codes-rcpt.ini': '[new_ip]\nlimit=2\n' })
    t.after(() => h.stop())
    const ip = '198.18.2.1'
    assert.equal((await send(h, ip, 'a@sender.example', ['bob@example.com'])).data?.code, 250)
    assert.equal((await send(h, ip, 'a@sender.example', ['carol@example.com'])).data?.code, 250)
    assert.deepEqual(await rcpts(h, ip, 'a@sender.example', ['dave@example.com']), [G28])
    assert.deepEqual(await rcpts(h, '198.18.2.2', 'a@sender.example', ['dave@example.com']), [OK_RCPT('dave@example.com')], 'another IP')
  })

  test('an established IP is not limited, unless most of its recipients are refused', async (t) => {
    await redis.command('FLUSHALL')
    const ip = '198.18.2.3'
    const longAgo = String(Date.now() - 10 * 86400_000)
    await redis.command('SET', `sc:ip:{${ip}}:first`, longAgo)
    const h = await node({
      'support-codes.ini': '[store]\nbackend=redis\n',
      'redis.ini': `[server]\nhost=127.0.0.1\nport=${redis.port}\n`,
      'support-codes-rcpt.ini': '[new_ip]\nlimit=2\nuntrusted_min=4\n\n[recipients]\ndomains=example.com\n',
      'support-codes.recipients': 'bob@example.com\n',
    })
    t.after(() => h.stop())
    for (let i = 0; i < 3; i++) assert.equal((await send(h, ip, 'a@sender.example', ['bob@example.com'])).data?.code, 250)
    // Four unknown recipients refused (and one accepted): now untrusted.
    const lines = await rcpts(h, ip, 'a@sender.example', ['x1@example.com', 'x2@example.com', 'x3@example.com', 'x4@example.com'])
    assert.deepEqual(lines, ['x1', 'x2', 'x3', 'x4'].map((u) => g8(`${u}@example.com`)))
    assert.deepEqual(await rcpts(h, ip, 'a@sender.example', ['bob@example.com']), [G28])
  })
})

describe('G14: the sender domain\'s MX', () => {
  let h: Haraka
  before(async () => {
    h = await node({ 'support-codes.mx_blocklist': '# blocked providers\n.badprovider.net\n192.0.2.64/26\nnot a host name!\n' })
  })
  after(async () => { await h.stop() })

  test('an MX host under a blocked name, or at a blocked address', async () => {
    assert.deepEqual(await rcpts(h, CLEAN, 'alice@bad.example', ['bob@example.com']), [g14('alice@bad.example')])
    assert.deepEqual(await rcpts(h, CLEAN, 'alice@ipmx.example', ['bob@example.com']), [g14('alice@ipmx.example')])
    assert.deepEqual(await rcpts(h, CLEAN, 'alice@implicit.example', ['bob@example.com']), [g14('alice@implicit.example')], 'no MX: the domain itself')
  })

  test('null MX, NXDOMAIN and clean domains are not refused; SERVFAIL defers with the bundle\'s 450 4.4.3 line', async () => {
    for (const d of ['nullmx.example', 'nxdomain.example', 'sender.example']) {
      assert.deepEqual(await rcpts(h, CLEAN, `alice@${d}`, ['bob@example.com']), [OK_RCPT('bob@example.com')], d)
    }
    assert.deepEqual(await rcpts(h, CLEAN, 'alice@servfail.example', ['bob@example.com']), [
      "450 4.4.3 alice@servfail.example: Sender domain's MX lookup failed, try again later",
    ])
  })

  test('[sender_mx] dns_error=accept lets a SERVFAIL through', async (t) => {
    const lenient = await node({
      'support-codes.mx_blocklist': '.badprovider.net\n',
      'support-codes-rcpt.ini': '[sender_mx]\ndns_error=accept\n',
    })
    t.after(() => lenient.stop())
    assert.deepEqual(await rcpts(lenient, CLEAN, 'alice@servfail.example', ['bob@example.com']), [OK_RCPT('bob@example.com')])
    await lenient.waitForLog(/sender_mx: let through by its setting; its safe value would have sent MX-TEMP \(MX lookup failed \(ESERVFAIL\)\) \[fail-open sender_mx #1\]/)
    assert.deepEqual(await rcpts(lenient, CLEAN, 'alice@bad.example', ['bob@example.com']), [g14('alice@bad.example')])
  })

  test('a malformed list line is named with its line number', async () => {
    await h.waitForLog(/support-codes\.mx_blocklist line 4: .*; line skipped/)
  })
})

describe('G8/G9: the recipient directory', () => {
  const ini = {
    'support-codes-rcpt.ini': '[recipients]\ndomains=example.com\n',
    'support-codes.recipients': 'bob@example.com\n@team.example.com\nnot an address\n',
  }

  test('unknown recipients of a checked domain are refused at RCPT', async (t) => {
    const h = await node(ini)
    t.after(() => h.stop())
    const lines = await rcpts(h, CLEAN, 'a@sender.example', ['bob@example.com', 'BOB@Example.COM', 'bob+news@example.com', 'alice@example.com', 'anyone@elsewhere.example'])
    assert.deepEqual(lines, [
      OK_RCPT('bob@example.com'), OK_RCPT('BOB@Example.COM'), OK_RCPT('bob+news@example.com'),
      g8('alice@example.com'), OK_RCPT('anyone@elsewhere.example'),
    ])
    await h.waitForLog(/support-codes\.recipients line 3: .*; line skipped/)
  })

  test('at=data holds the refusal until after DATA', async (t) => {
    const h = await node({ ...ini, 'support-codes-rcpt.ini': '[recipients]\ndomains=example.com\nat=data\n' })
    t.after(() => h.stop())
    const res = await send(h, CLEAN, 'a@sender.example', ['bob@example.com', 'alice@example.com'])
    assert.deepEqual(res.rcpts.map((r) => r.text), [OK_RCPT('bob@example.com'), OK_RCPT('alice@example.com')])
    assert.equal(res.data?.text, g8('alice@example.com'))
    assert.equal(h.queued().length, 0)
    assert.equal((await send(h, CLEAN, 'a@sender.example', ['bob@example.com'])).data?.code, 250)
  })

  test('the list reloads without a restart', async (t) => {
    const h = await node(ini)
    t.after(() => h.stop())
    assert.deepEqual(await rcpts(h, CLEAN, 'a@sender.example', ['alice@example.com']), [g8('alice@example.com')])
    h.writeConfig('support-codes.recipients', 'bob@example.com\nalice@example.com\n')
    // haraka-config reloads a changed file about 5 s after the change.
    await waitFor('alice to be accepted', async () =>
      (await rcpts(h, CLEAN, 'a@sender.example', ['alice@example.com']))[0] === OK_RCPT('alice@example.com'), 15000, 300)
  })
})

describe('G6, G7: live callouts', () => {
  let h: Haraka
  let deadPort: number
  before(async () => {
    deadPort = await freePort()
    // The answers are cached in Redis, where support-codes explain (which
    // replays each reply, see rig/replay.ts) reads them too and calls no one.
    h = await node({
      'support-codes.ini': '[store]\nbackend=redis\n',
      'redis.ini': `[server]\nhost=127.0.0.1\nport=${redis.port}\n`,
      'support-codes-rcpt.ini': `[callout]\nenabled=true\ntimeout=2\nroutes=callout.example=127.0.0.1:${downstream.port},dead.example=127.0.0.1:${deadPort}\n`,
    })
  })
  after(async () => { await h.stop() })

  test('each answer of the recipient\'s server', async () => {
    const lines = await rcpts(h, CLEAN, 'a@sender.example', [
      'ok@callout.example', 'gone@callout.example', 'refused@callout.example', 'later@callout.example',
    ])
    assert.deepEqual(lines, [
      OK_RCPT('ok@callout.example'), g8('gone@callout.example'), g7('refused@callout.example'), g6('later@callout.example'),
    ])
    const s = downstream.sessions.find((x) => x.rcpts.includes('ok@callout.example'))
    assert.ok(s)
    assert.deepEqual(s.commands.slice(0, 3), ['EHLO mx.test.example', 'MAIL FROM:<>', 'RCPT TO:<ok@callout.example>'])
  })

  test('no answer and no connection give G6 within [callout] timeout', async () => {
    let t0 = stopwatch()
    assert.deepEqual(await rcpts(h, CLEAN, 'a@sender.example', ['hang@callout.example']), [g6('hang@callout.example')])
    // [callout] timeout (2 s) holds, with 1.5 s for the session and a loaded machine.
    assert.ok(t0() < 2000 + 1500, `hang took ${t0()} ms`)
    t0 = stopwatch()
    assert.deepEqual(await rcpts(h, CLEAN, 'a@sender.example', ['x@dead.example']), [g6('x@dead.example')])
    // A refused connection is a tempfail at once, not after [callout] timeout.
    assert.ok(t0() < 2000, `dead took ${t0()} ms`)
  })

  test('answers are cached; other domains are never called', async () => {
    const before = downstream.connections
    assert.deepEqual(await rcpts(h, CLEAN, 'a@sender.example', ['gone@callout.example', 'ok@callout.example']), [g8('gone@callout.example'), OK_RCPT('ok@callout.example')])
    assert.deepEqual(await rcpts(h, CLEAN, 'a@sender.example', ['someone@example.com']), [OK_RCPT('someone@example.com')])
    assert.equal(downstream.connections, before)
  })
})

describe('G6: callouts per client and the queue', () => {
  test('a client past [callout] max_per_client waits; past max_queue, G6 at once; another client is not held up', async (t) => {
    // The queue is the live process's own state, which support-codes explain
    // cannot see: these replies are not replayed.
    const h = await node({
      'support-codes-rcpt.ini': `[callout]\nenabled=true\ntimeout=2\nmax_per_client=1\nmax_queue=1\nroutes=callout.example=127.0.0.1:${downstream.port}\n`,
    }, { replay: false })
    t.after(() => h.stop())
    // Three addresses of one /64: one client.
    const open = async (ip: string): Promise<SmtpClient> => {
      const c = await SmtpClient.connect({ port: h.port, proxyFrom: ip })
      t.after(() => c.close())
      await c.ehlo('client.test')
      assert.equal((await c.send('MAIL FROM:<a@sender.example>')).code, 250)
      return c
    }
    const [a, b, c] = await Promise.all(['2001:db8:5:6::1', '2001:db8:5:6::2', '2001:db8:5:6:ffff::3'].map(open))
    const other = await open(CLEAN)
    const hanging = downstream.open
    const first = a.send('RCPT TO:<hang@callout.example>')
    await waitFor('the first callout to be open', () => downstream.open === hanging + 1)
    // The second waits for the client's one slot: the queue (1) is full.
    const second = b.send('RCPT TO:<wait@callout.example>')
    // The second must be waiting for the slot before the third comes in.
    // Nothing the server says marks that moment, so this one wait stays a pause.
    await new Promise((r) => setTimeout(r, 200))
    let t0 = stopwatch()
    assert.equal((await c.send('RCPT TO:<third@callout.example>')).text, g6('third@callout.example'))
    // Refused at once (the log line below says why), not queued until [callout] timeout.
    assert.ok(t0() < 2000, `the third waited ${t0()} ms`)
    await h.waitForLog(/callout third@callout\.example: tempfail: too many callouts waiting \(1\)/)
    // Another client's callout goes at once.
    t0 = stopwatch()
    // Its answer shows it went at once: queued behind the hanging callout it
    // would have met the shared [callout] timeout and been a tempfail.
    assert.equal((await other.send('RCPT TO:<other@callout.example>')).text, OK_RCPT('other@callout.example'))
    assert.ok(t0() < 2000, `another client waited ${t0()} ms`)
    // The first gets no answer within [callout] timeout; the second never got its turn.
    assert.equal((await first).text, g6('hang@callout.example'))
    assert.equal((await second).text, g6('wait@callout.example'))
    await h.waitForLog(/callout wait@callout\.example: tempfail: too many callouts for client 2001:db8:5:6::\/64/)
    assert.equal(downstream.sessions.filter((s) => s.rcpts.includes('third@callout.example') || s.rcpts.includes('wait@callout.example')).length, 0)
  })
})

describe('GE and G30', () => {
  test('GE: pairs by address, domain and *', async (t) => {
    const h = await node({
      'support-codes.sender_blocks': 'bob@example.com spammer@bad.example\n@example.com @evil.example\n* mass@mailer.example\n',
      'support-codes.mx_blocklist': '',
    })
    t.after(() => h.stop())
    assert.deepEqual(await rcpts(h, CLEAN, 'spammer@bad.example', ['bob@example.com', 'carol@example.com']), [ge('spammer@bad.example'), OK_RCPT('carol@example.com')])
    assert.deepEqual(await rcpts(h, CLEAN, 'Boss@Evil.Example', ['carol@example.com', 'x@other.example']), [ge('Boss@Evil.Example'), OK_RCPT('x@other.example')])
    assert.deepEqual(await rcpts(h, CLEAN, 'mass@mailer.example', ['x@other.example']), [ge('mass@mailer.example')])
  })

  test('G30: at [mailbox_rate] limit, RCPT gets 450 4.2.1', async (t) => {
    const h = await node({ 'support-codes-rcpt.ini': '[mailbox_rate]\nlimit=2\n' })
    t.after(() => h.stop())
    assert.equal((await send(h, CLEAN, 'a@sender.example', ['busy@example.com'])).data?.code, 250)
    assert.equal((await send(h, '198.18.3.3', 'b@sender.example', ['Busy@Example.com'])).data?.code, 250)
    assert.deepEqual(await rcpts(h, CLEAN, 'c@sender.example', ['busy@example.com', 'quiet@example.com']), [G30, OK_RCPT('quiet@example.com')])
  })
})
