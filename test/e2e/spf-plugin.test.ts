// End to end: Haraka's own SPF plugin (haraka-plugin-spf, from the node) runs
// before the bundle, set to record only. The bundle's data plugin reuses its
// MAIL FROM result: the test DNS server sees the sender's SPF record asked
// for once, and the refusal is the bundle's R2, byte for byte.
//
// The plugin asks node:dns/promises' module functions (resolveTxt, ...),
// which use the default resolver the rig's preload points at the test DNS
// server: its Fail for records only that server holds shows the lookups
// stayed on loopback.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Haraka, PLUGINS } from '../rig/haraka'
import { TestDns, ptrName } from '../rig/dns-server'
import { SmtpClient, message } from '../rig/smtp-client'

const IN = '198.18.7.7' // allowed by the pass domains' records
const OUT = '198.18.8.8' // allowed by no record
const r2 = (d: string): string => `550 5.1.0 Sender is not allowed to send from ${d}`
const re = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

// Records only: no [deny] or [defer] key is on, so whatever refuses is the
// bundle. Explicit rather than left to the plugin's defaults.
const SPF_INI = [
  '[main]', 'lookup_timeout=10', 'dns_timeout=3',
  '[defer]', 'helo_temperror=false', 'mfrom_temperror=false',
  '[deny]', ...['helo', 'mfrom'].flatMap((s) => ['none', 'softfail', 'fail', 'permerror'].map((r) => `${s}_${r}=false`)),
].join('\n') + '\n'

// Each case has a domain of its own: the bundle keeps SPF results per
// sender and address for the life of the process, so a domain used twice
// would be answered without DNS the second time and prove nothing.
const DOMAINS = {
  fail: 'fail.spfplugin.example', // v=spf1 -all
  failIp: 'failip.spfplugin.example', // an ip4 that is not the client's
  pass: 'pass.spfplugin.example',
  control: 'control.spfplugin.example', // v=spf1 -all, node without haraka-plugin-spf
  replayFail: 'replayfail.spfplugin.example',
  replayPass: 'replaypass.spfplugin.example',
}

let dns: TestDns

before(async () => {
  dns = await TestDns.start({
    records: {
      [ptrName(IN)]: [{ type: 'PTR', data: 'client.spfplugin.example' }],
      [ptrName(OUT)]: [{ type: 'PTR', data: 'client.spfplugin.example' }],
      'client.spfplugin.example': [{ type: 'A', data: IN }, { type: 'A', data: OUT }],
      [DOMAINS.fail]: [{ type: 'TXT', data: 'v=spf1 -all' }],
      [DOMAINS.failIp]: [{ type: 'TXT', data: `v=spf1 ip4:${IN}/32 -all` }],
      [DOMAINS.pass]: [{ type: 'TXT', data: `v=spf1 ip4:${IN}/32 -all` }],
      [DOMAINS.control]: [{ type: 'TXT', data: 'v=spf1 -all' }],
      [DOMAINS.replayFail]: [{ type: 'TXT', data: 'v=spf1 -all' }],
      [DOMAINS.replayPass]: [{ type: 'TXT', data: `v=spf1 ip4:${IN}/32 -all` }],
    },
  })
})
after(async () => {
  await dns.stop()
})

/** Haraka's SPF plugin first, then the four support-codes plugins. */
function node(opts: { spf?: boolean; replay?: boolean } = {}): Promise<Haraka> {
  return Haraka.start({
    dns: dns.address,
    plugins: [...(opts.spf === false ? [] : ['spf']), ...PLUGINS],
    config: { 'spf.ini': SPF_INI, 'support-codes.ini': '[dns]\ntimeout=3\n' },
    replay: opts.replay ?? false,
  })
}

/** One message from alice@domain; the reply to the final dot, and every byte the server sent. */
async function deliver(h: Haraka, ip: string, domain: string): Promise<{ line: string; raw: string }> {
  const from = `alice@${domain}`
  const c = await SmtpClient.connect({ port: h.port, proxyFrom: ip })
  try {
    assert.match((await c.ehlo('client.spfplugin.example')).text, /^250[ -]/)
    assert.equal((await c.send(`MAIL FROM:<${from}>`)).code, 250)
    assert.equal((await c.send('RCPT TO:<bob@example.com>')).code, 250)
    const line = (await c.data(message({ from, to: 'bob@example.com' }))).text
    await c.quit()
    return { line, raw: c.raw }
  } finally {
    c.close()
  }
}

/** TXT questions the DNS server was asked for a name: each SPF evaluation of it asks one. */
function txtQueries(name: string): number {
  return dns.queries.filter((q) => q.name === name && q.type === 'TXT').length
}

describe('haraka-plugin-spf before support-codes/data', () => {
  let h: Haraka
  // The DNS server's log is compared per test, so the replay of each reply
  // through support-codes explain (which evaluates SPF itself against the
  // same server) is off here; the node further down has it on.
  before(async () => { h = await node() })
  after(async () => { await h.stop() })

  test('the plugin is loaded from the node', () => {
    assert.match(h.log, /loading spf\b/)
  })

  for (const [name, domain] of [['v=spf1 -all', DOMAINS.fail], ['an ip4 that is not the client', DOMAINS.failIp]] as const) {
    test(`fail (${name}): R2 after the final dot, byte for byte, from one SPF evaluation`, async () => {
      const { line, raw } = await deliver(h, OUT, domain)
      assert.equal(line, r2(domain))
      // The server's next bytes after the 354 are that line and its CRLF.
      const end354 = raw.indexOf('\r\n', raw.indexOf('\r\n354 ') + 2) + 2
      assert.ok(raw.startsWith(`${r2(domain)}\r\n`, end354), JSON.stringify(raw.slice(-300)))
      // The plugin evaluated, and recorded Fail without refusing.
      await h.waitForLog(new RegExp(re(`[spf] identity=mfrom ip=${OUT} domain="${domain}" mfrom=<alice@${domain}> result=Fail`)))
      // The bundle judged that result rather than one of its own.
      await h.waitForLog(new RegExp(re(`[support-codes/data] spf: sent "${r2(domain)}" (SPF fail for ${domain} (haraka-plugin-spf)) [R2 #`)))
      assert.equal(txtQueries(domain), 1, dns.queries.filter((q) => q.name === domain).map((q) => `${q.type}/${q.proto}`).join(' '))
    })
  }

  test(`pass (v=spf1 ip4:${IN}/32 -all): accepted, from one SPF evaluation`, async () => {
    const { line } = await deliver(h, IN, DOMAINS.pass)
    assert.match(line, /^250 /)
    await h.waitForLog(new RegExp(re(`[spf] identity=mfrom ip=${IN} domain="${DOMAINS.pass}" mfrom=<alice@${DOMAINS.pass}> result=Pass`)))
    await h.waitForLog(new RegExp(re(`[support-codes/data] spf: pass, spf_source: haraka-plugin-spf, dmarc: none, dmarc_policy: , dmarc_domain: ${DOMAINS.pass}`)))
    assert.equal(txtQueries(DOMAINS.pass), 1)
    assert.equal(h.queued().length, 1)
  })
})

describe('without haraka-plugin-spf (control)', () => {
  test('the bundle evaluates SPF itself: the same count shows its one lookup', async () => {
    const h = await node({ spf: false })
    try {
      const { line } = await deliver(h, OUT, DOMAINS.control)
      assert.equal(line, r2(DOMAINS.control))
      await h.waitForLog(new RegExp(re(`[support-codes/data] spf: sent "${r2(DOMAINS.control)}" (SPF fail for ${DOMAINS.control} (mailauth)) [R2 #`)))
      assert.equal(txtQueries(DOMAINS.control), 1)
    } finally {
      await h.stop()
    }
  })
})

describe('haraka-plugin-spf before the bundle, replayed through support-codes explain', () => {
  test('explain, which evaluates SPF itself, gives the same R2 and the same acceptance', async () => {
    const h = await node({ replay: true })
    try {
      assert.equal((await deliver(h, OUT, DOMAINS.replayFail)).line, r2(DOMAINS.replayFail))
      assert.match((await deliver(h, IN, DOMAINS.replayPass)).line, /^250 /)
    } finally {
      // stop() fails the test when explain gave another line.
      await h.stop()
    }
  })
})
