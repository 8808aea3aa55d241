// End to end: SPF and DMARC through a real Haraka and a real DNS server
// publishing SPF, DMARC and DKIM records; messages DKIM-signed by the test.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { stopwatch } from '../rig/replay'
import { Haraka } from '../rig/haraka'
import { TestDns } from '../rig/dns-server'
import { sendMail } from '../rig/smtp-client'
import { mimeMessage } from '../rig/mime-build'
import { makeDkimKey, signMessage } from '../rig/dkim'

const IN = '198.18.7.7' // allowed by the SPF records below
const OUT = '198.18.8.8' // not allowed
const r2 = (d: string): string => `550 5.1.0 Sender is not allowed to send from ${d}`
const g15 = (d: string): string => `550 5.7.1 Email rejected per DMARC policy for ${d} (G15)`
const g1e = (a: string): string => `450 4.4.0 ${a}: Temporary DMARC DNS lookup failure (G1E)`
const G1B = '550 5.7.0 mime_banned_file - Your message has been rejected because it contains a banned file attachment (G1B)'

const key = makeDkimKey('s1', 'signed.example')
let dns: TestDns
let h: Haraka

function msg(from: string, subject = 'auth test'): string {
  return `From: ${from}\r\nTo: bob@example.com\r\nSubject: ${subject}\r\nDate: Sat, 28 Nov 2026 12:00:00 +0000\r\nMessage-ID: <${Math.random().toString(36).slice(2)}@test>\r\n\r\nHello.\r\n`
}

async function dataLine(node: Haraka, ip: string, mailFrom: string, message: string): Promise<string> {
  const res = await sendMail({ port: node.port, proxyFrom: ip, helo: 'client.test', from: mailFrom, to: ['bob@example.com'], message })
  assert.equal(res.mail.code, 250, res.mail.text)
  return res.data?.text ?? '(no DATA reply)'
}

const spf = (domain: string, record: string): Record<string, Array<{ type: 'TXT'; data: string }>> => ({ [domain]: [{ type: 'TXT', data: record }] })
const dmarc = (domain: string, record: string): Record<string, Array<{ type: 'TXT'; data: string }>> => ({ [`_dmarc.${domain}`]: [{ type: 'TXT', data: record }] })

before(async () => {
  dns = await TestDns.start({
    records: {
      '*.18.198.in-addr.arpa': [{ type: 'PTR', data: 'client.test' }],
      ...spf('spfonly.example', 'v=spf1 ip4:198.18.7.0/24 -all'),
      ...spf('softfail.example', 'v=spf1 ip4:198.18.7.0/24 ~all'),
      ...spf('permerror.example', 'v=spf1 ip4:198.18.7.0/24 bogus:thing -all'),
      ...dmarc('rejectonly.example', 'v=DMARC1; p=reject'),
      ...spf('quarantine.example', 'v=spf1 ~all'),
      ...dmarc('quarantine.example', 'v=DMARC1; p=quarantine'),
      ...dmarc('none.example', 'v=DMARC1; p=none'),
      ...dmarc('parent.example', 'v=DMARC1; p=none; sp=reject'),
      ...spf('mail.strict.example', 'v=spf1 ip4:198.18.7.0/24 -all'),
      ...dmarc('strict.example', 'v=DMARC1; p=reject; aspf=s'),
      ...spf('mail.relaxed.example', 'v=spf1 ip4:198.18.7.0/24 -all'),
      ...dmarc('relaxed.example', 'v=DMARC1; p=reject'),
      ...spf('signed.example', 'v=spf1 ip4:198.18.7.0/24 -all'),
      ...dmarc('signed.example', 'v=DMARC1; p=reject; adkim=s'),
      [key.txtName]: [{ type: 'TXT', data: key.txtValue }],
      ...spf('good.example', 'v=spf1 ip4:198.18.7.0/24 -all'),
      ...dmarc('good.example', 'v=DMARC1; p=reject'),
    },
    servfail: ['spfservfail.example', '_dmarc.dmarcfail.example'],
    silent: ['_dmarc.dmarcsilent.example'],
  })
  // An SPF record whose includes each answer after 4.5 s, within a 5 s [dns] timeout.
  dns.add('slowinc.example', { type: 'TXT', data: `v=spf1 ${[1, 2, 3, 4].map((i) => `include:i${i}.slowinc.example`).join(' ')} -all` })
  for (const i of [1, 2, 3, 4]) {
    dns.add(`i${i}.slowinc.example`, { type: 'TXT', data: 'v=spf1 ip4:192.0.2.0/24 ?all' })
    dns.delay(`i${i}.slowinc.example`, 4500)
  }
  h = await Haraka.start({ dns: dns.address, plugins: ['support-codes/data'], config: { 'support-codes.ini': '[dns]\ntimeout=1\n' } })
})
after(async () => {
  await h.stop()
  await dns.stop()
})

describe('R2: SPF', () => {
  test('fail is refused with the MAIL FROM domain', async () => {
    assert.equal(await dataLine(h, OUT, 'alice@spfonly.example', msg('alice@spfonly.example')), r2('spfonly.example'))
  })

  test('pass, softfail, neutral/none, permerror and temperror are accepted', async () => {
    for (const [ip, from] of [[IN, 'alice@spfonly.example'], [OUT, 'alice@softfail.example'], [OUT, 'alice@nospf.example'], [OUT, 'alice@permerror.example'], [OUT, 'alice@spfservfail.example']]) {
      assert.match(await dataLine(h, ip, from, msg(from)), /^250 /, from)
    }
  })
})

describe('G15 and G1E: DMARC', () => {
  test('fail where the policy is reject', async () => {
    assert.equal(await dataLine(h, OUT, 'alice@rejectonly.example', msg('alice@rejectonly.example')), g15('rejectonly.example'))
  })

  test('quarantine and none are accepted and recorded', async () => {
    assert.match(await dataLine(h, OUT, 'alice@quarantine.example', msg('alice@quarantine.example')), /^250 /)
    assert.match(await dataLine(h, OUT, 'alice@none.example', msg('alice@none.example')), /^250 /)
    await h.waitForLog(/\[support-codes\/data\].*dmarc: fail/)
  })

  test('sp applies to a subdomain, named by the organizational domain', async () => {
    assert.equal(await dataLine(h, OUT, 'alice@sub.parent.example', msg('alice@sub.parent.example')), g15('parent.example'))
  })

  test('strict SPF alignment fails where relaxed passes', async () => {
    assert.equal(await dataLine(h, IN, 'bounce@mail.strict.example', msg('alice@strict.example')), g15('strict.example'))
    assert.match(await dataLine(h, IN, 'bounce@mail.relaxed.example', msg('alice@relaxed.example')), /^250 /)
  })

  test('a DMARC lookup that fails temporarily defers (SERVFAIL, no answer)', async () => {
    assert.equal(await dataLine(h, OUT, 'alice@dmarcfail.example', msg('alice@dmarcfail.example')), g1e('alice@dmarcfail.example'))
    const t0 = stopwatch()
    assert.equal(await dataLine(h, OUT, 'alice@dmarcsilent.example', msg('alice@dmarcsilent.example')), g1e('alice@dmarcsilent.example'))
    // After one lookup timeout (1 s), well within the bound; 4 s to spare.
    assert.ok(t0() < 5000, `took ${t0()} ms`)
  })

  test('a refusal by the content checks does not wait for SPF and DMARC lookups', async (t) => {
    // The DMARC record does not answer: judged, it would take the lookup
    // timeout, here 5 s. The refusal coming before it shows nothing waited
    // for the lookup, with seconds to spare on a loaded machine.
    const h5 = await Haraka.start({ dns: dns.address, plugins: ['support-codes/data'], config: { 'support-codes.ini': '[dns]\ntimeout=5\n' } })
    t.after(() => h5.stop())
    const banned = mimeMessage({ from: 'alice@dmarcsilent.example', to: 'bob@example.com', attachments: [{ name: 'setup.exe', data: 'MZ' }] })
    const t0 = stopwatch()
    assert.equal(await dataLine(h5, OUT, 'alice@dmarcsilent.example', banned), G1B)
    assert.ok(t0() < 5000, `took ${t0()} ms`)
    assert.equal(h5.running, true)
  })

  test('temperror=accept accepts', async (t) => {
    const h2 = await Haraka.start({
      dns: dns.address, plugins: ['support-codes/data'],
      config: { 'support-codes.ini': '[dns]\ntimeout=1\n', 'support-codes-data.ini': '[dmarc]\ntemperror=accept\n' },
    })
    t.after(() => h2.stop())
    assert.match(await dataLine(h2, OUT, 'alice@dmarcfail.example', msg('alice@dmarcfail.example')), /^250 /)
  })

  test('SPF fails but DMARC passes through an aligned DKIM signature: accepted', async () => {
    const signed = await signMessage(msg('alice@signed.example', 'signed'), { domain: 'signed.example', selector: 's1', privateKey: key.privateKey })
    assert.match(await dataLine(h, OUT, 'alice@signed.example', signed), /^250 /)
    // The same message unsigned is refused (SPF fail first).
    assert.equal(await dataLine(h, OUT, 'alice@signed.example', msg('alice@signed.example', 'signed')), r2('signed.example'))
  })

  test('a pass is a pass', async () => {
    assert.match(await dataLine(h, IN, 'alice@good.example', msg('alice@good.example')), /^250 /)
  })

  test('From headers a domain cannot be taken from: accepted, as documented', async () => {
    const noFrom = 'To: bob@example.com\r\nSubject: no from\r\n\r\nHi\r\n'
    assert.match(await dataLine(h, IN, 'alice@good.example', noFrom), /^250 /)
    assert.match(await dataLine(h, IN, 'alice@good.example', msg('undisclosed-recipients:;')), /^250 /)
    // Two From headers: each domain is judged, the strictest wins.
    const two = `From: alice@good.example\r\nFrom: mallory@rejectonly.example\r\nTo: bob@example.com\r\nSubject: two\r\n\r\nHi\r\n`
    assert.equal(await dataLine(h, IN, 'alice@good.example', two), g15('rejectonly.example'))
  })
})

describe('bounded authentication work', () => {
  test('MAIL FROM whose SPF includes answer after 4.5 s each, From at a p=reject domain: G15, not G1E', async (t) => {
    // [dns] timeout at its default of 5 s: the SPF evaluation alone would take 18 s.
    const h5 = await Haraka.start({ dns: dns.address, plugins: ['support-codes/data'] })
    t.after(() => h5.stop())
    const t0 = stopwatch()
    const res = await sendMail({ port: h5.port, proxyFrom: OUT, helo: 'client.test', from: 'bounce@slowinc.example', to: ['bob@example.com'], message: msg('alice@rejectonly.example'), timeoutMs: 30000 })
    assert.equal(res.data?.text, g15('rejectonly.example'))
    // SPF and DKIM have two thirds of the 15 s bound; the policy was looked up at once.
    assert.ok(t0() >= 9000 && t0() < 14000, `took ${t0()} ms`)
    await h5.waitForLog(/\[support-codes\/data\].*spf: temperror/)
  })

  test('a From with 5,000 addresses at distinct domains: G15 for the 11th domain, at most 30 DNS queries', async () => {
    // Short names keep the header section (about 60 KB) within [scan] max_header_bytes.
    const addresses = Array.from({ length: 5000 }, (_, i) => `a@d${i}.ex`)
    const lines: string[] = []
    for (let i = 0; i < addresses.length; i += 50) lines.push(addresses.slice(i, i + 50).join(', '))
    dns.queries = []
    assert.equal(await dataLine(h, IN, 'alice@good.example', msg(lines.join(',\r\n '))), g15('d10.ex'))
    assert.ok(dns.queries.length <= 30, `${dns.queries.length} queries: ${dns.queries.map((q) => q.name).join(' ')}`)
    assert.deepEqual(dns.queries.filter((q) => /(^|\.)d\d+\.ex$/.test(q.name)), [], 'no lookup for any From domain')
    assert.equal(h.running, true)
  })
})
