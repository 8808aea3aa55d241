// The bounds on authentication work a sender can reach, against the DNS
// server on loopback: the From-domain and signature caps, the per-message
// DNS lookup budget, the DKIM input (long lines, a chunk per event-loop
// turn), the DKIM share of the time bound, and no exception ever becoming
// acceptance. The parts that need no DNS: test/unit/auth/limits.test.ts.
import { after, before, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DNSResolver, dkimVerify } from 'mailauth'
import { RecordSpec, TestDns } from './dns-server'
import { DkimKey, makeDkimKey, signMessage } from './dkim'
import { AuthInput, authenticate } from '../../plugins/lib/auth/authenticate'
import { DnsRegistry } from '../../plugins/lib/dns/registry'
import { CHUNK_BYTES, MAX_LINE_BYTES, MAX_SIGNED_FIELDS, MAX_VERIFY_HEADER_LINES } from '../../plugins/lib/auth/dkim-input'
import { dmarcCheck } from '../../plugins/lib/checks/dmarc'
import { renderVerdict } from '../../plugins/lib/codes/render'

// The file's resolvers, as a Haraka process's registry gives them (one per [dns] settings).
const registry = new DnsRegistry()
const mailauthResolver = (servers: readonly string[], timeoutSec: number): ReturnType<DnsRegistry['mailauth']> => registry.mailauth(servers, timeoutSec, 0)

const GOOD_IP = '198.51.100.7'
const SPF_LIST = 'v=spf1 ip4:198.51.100.0/24 -all'
const DMARC_CFG = { reject: true, temperror: 'defer' } as const
const txt = (data: string): RecordSpec[] => [{ type: 'TXT', data }]

let server: TestDns
let key: DkimKey

before(async () => {
  key = makeDkimKey('sel', 'signed.example')
  server = await TestDns.start({
    records: {
      'sender.example': txt(SPF_LIST),
      '_dmarc.sender.example': txt('v=DMARC1; p=reject'),
      'signed.example': txt(SPF_LIST),
      '_dmarc.signed.example': txt('v=DMARC1; p=reject'),
      [key.txtName]: txt(key.txtValue),
    },
  })
})
after(async () => {
  await server.stop()
})
beforeEach(() => {
  server.queries = []
})

function input(raw: string | Buffer, over: Partial<AuthInput> = {}): AuthInput {
  return {
    raw: Buffer.isBuffer(raw) ? raw : Buffer.from(raw),
    ip: GOOD_IP,
    helo: 'client.test',
    mailFrom: 'alice@sender.example',
    mta: 'mx.test',
    resolver: mailauthResolver([server.address], 0.5),
    ...over,
  }
}

const message = (from: string, body = 'Hello.\r\n'): string => `From: ${from}\r\nTo: bob@example.com\r\nSubject: limits\r\n\r\n${body}`
const line = (facts: Parameters<typeof dmarcCheck>[0]): string | undefined => {
  const v = dmarcCheck(facts, DMARC_CFG)
  return v && renderVerdict(v, 'data').line
}

describe('[dmarc] max_from_domains', () => {
  it('a From with 5,000 distinct domains: G15 for the 11th, no policy lookup at all', async () => {
    const addresses = Array.from({ length: 5000 }, (_, i) => `a${i}@d${i}.example`)
    // Folded, 50 addresses a line, as a sender would write it.
    const lines: string[] = []
    for (let i = 0; i < addresses.length; i += 50) lines.push(addresses.slice(i, i + 50).join(', '))
    const f = await authenticate(input(message(lines.join(',\r\n '))))
    assert.deepEqual(f.from.overLimit, { domain: 'd10.example', count: 5000, limit: 10 })
    assert.deepEqual(f.from.domains, [])
    assert.equal(f.dmarc, undefined)
    assert.equal(line(f), '550 5.7.1 Email rejected per DMARC policy for d10.example (G15)')
    assert.match(dmarcCheck(f, DMARC_CFG)?.reason ?? '', /From names 5000 distinct domains, more than \[dmarc\] max_from_domains=10/)
    assert.deepEqual(server.queries.filter((q) => q.name.startsWith('_dmarc.')), [])
    assert.deepEqual(server.queries.map((q) => q.name), ['sender.example'], 'SPF only')
    assert.equal(dmarcCheck(f, { reject: false, temperror: 'defer' }), undefined, 'no DMARC refusal without [dmarc] reject')
  })

  it('exactly at the cap: every domain evaluated', async () => {
    const from = Array.from({ length: 3 }, (_, i) => `a@c${i}.example`).join(', ') + ', b@sender.example'
    const f = await authenticate(input(message(from), { maxFromDomains: 4, mailFrom: 'x@elsewhere.example' }))
    assert.equal(f.from.overLimit, undefined)
    assert.equal(f.from.domains.length, 4)
    assert.equal(line(f), '550 5.7.1 Email rejected per DMARC policy for sender.example (G15)')
    const over = await authenticate(input(message(from), { maxFromDomains: 3, mailFrom: 'x@elsewhere.example' }))
    assert.equal(line(over), '550 5.7.1 Email rejected per DMARC policy for sender.example (G15)', 'the 4th domain is the first past 3')
  })
})

describe('[dns] max_lookups', () => {
  it('deep From domains cannot use up the budget: the DNS server sees at most max_lookups queries, SPF still answers, DMARC defers', async () => {
    const from = Array.from({ length: 10 }, (_, i) => `a@x.y.z.w${i}.example`).join(', ')
    const f = await authenticate(input(message(from), { maxLookups: 12, mailFrom: 'alice@sender.example' }))
    assert.ok(server.queries.length <= 12, `${server.queries.length} queries`)
    assert.equal(f.lookups?.max, 12)
    assert.equal(f.lookups?.count, server.queries.length)
    assert.ok((f.lookups?.refused ?? 0) > 0)
    assert.equal(f.spf.result, 'pass', 'the SPF share was kept')
    assert.equal(f.dmarc?.result, 'temperror')
    assert.match(f.dmarc?.reason ?? '', /lookup budget of 12 per message reached/)
    assert.equal(dmarcCheck(f, DMARC_CFG)?.id, 'G1E')
  })
})

describe('[dmarc] max_dkim_signatures and the h= bound', () => {
  it('only the first N signatures are verified; the rest are "policy" rows and do not pass', async () => {
    let raw = message('<alice@signed.example>')
    for (let i = 0; i < 4; i++) raw = await signMessage(raw, { domain: 'signed.example', selector: 'sel', privateKey: key.privateKey })
    const f = await authenticate(input(raw, { mailFrom: 'x@elsewhere.example', ip: '203.0.113.9', maxDkimSignatures: 2 }))
    assert.deepEqual(f.dkim.map((d) => d.result), ['pass', 'pass', 'policy', 'policy'])
    assert.equal(f.dkim[2].comment, 'not verified: past [dmarc] max_dkim_signatures=2')
    assert.equal(f.dmarc?.result, 'pass')
    const one = await authenticate(input(raw, { mailFrom: 'x@elsewhere.example', ip: '203.0.113.9', maxDkimSignatures: 1 }))
    assert.deepEqual(one.dkim.map((d) => d.result), ['pass', 'policy', 'policy', 'policy'])
  })

  it(`a signature whose h= names more than ${MAX_SIGNED_FIELDS} fields is not verified`, async () => {
    const names = Array.from({ length: MAX_SIGNED_FIELDS + 1 }, () => 'from').join(':')
    const sig = `DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=signed.example; s=sel; h=${names}; bh=AAAA; b=AAAA\r\n`
    const f = await authenticate(input(sig + message('<alice@signed.example>'), { mailFrom: 'x@elsewhere.example', ip: '203.0.113.9' }))
    assert.deepEqual(f.dkim, [{ domain: 'signed.example', result: 'policy', selector: 'sel', comment: `not verified: h= names more than ${MAX_SIGNED_FIELDS} fields` }])
    assert.equal(line(f), '550 5.7.1 Email rejected per DMARC policy for signed.example (G15)')
    assert.ok(!server.queries.some((q) => q.name === key.txtName), 'no key lookup')
  })

  it(`a header section of more than ${MAX_VERIFY_HEADER_LINES} lines: no signature verified, From still read (in linear time)`, async () => {
    const signed = await signMessage(message('<alice@signed.example>'), { domain: 'signed.example', selector: 'sel', privateKey: key.privateKey })
    const raw = signed.replace('Subject: limits', `Subject: limits${'\r\n x'.repeat(50_000)}`)
    const t0 = Date.now()
    const f = await authenticate(input(raw, { mailFrom: 'x@elsewhere.example', ip: '203.0.113.9' }))
    // Linear time is the promise: a reading per line over 50,000 folded lines
    // would take minutes; 2 s leaves a loaded machine room.
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`)
    assert.deepEqual(f.dkim.map((d) => d.result), ['policy'])
    assert.match(f.dkim[0].comment ?? '', new RegExp(`^not verified: the header section has 500\\d\\d lines, more than ${MAX_VERIFY_HEADER_LINES}$`))
    assert.deepEqual(f.from.addresses, ['alice@signed.example'])
    assert.equal(line(f), '550 5.7.1 Email rejected per DMARC policy for signed.example (G15)')
    assert.ok(!server.queries.some((q) => q.name === key.txtName), 'no key lookup')
  })

})

describe('DKIM input', () => {
  it('a body line over the limit leaves every signature unverified', async () => {
    const raw = await signMessage(message('<alice@signed.example>', 'x'.repeat(MAX_LINE_BYTES + 10) + '\r\n'), { domain: 'signed.example', selector: 'sel', privateKey: key.privateKey })
    const f = await authenticate(input(raw, { mailFrom: 'x@elsewhere.example', ip: '203.0.113.9' }))
    assert.deepEqual(f.dkim.map((d) => [d.result, d.comment]), [['policy', `not verified: a body line is longer than ${MAX_LINE_BYTES} bytes`]])
  })

  it('the same verdict as dkimVerify on the whole buffer, bare LFs and all, with the event loop turning between chunks', async () => {
    const body = Array.from({ length: 40000 }, (_, i) => (i % 3 ? `line ${i}  with\ttabs \n` : `line ${i}\r\n`)).join('')
    const raw = await signMessage(message('<alice@signed.example>', body), { domain: 'signed.example', selector: 'sel', privateKey: key.privateKey })
    const direct = await dkimVerify(Buffer.from(raw), { resolver: mailauthResolver([server.address], 0.5) as DNSResolver })
    let turns = 0
    let running = true
    const tick = (): void => {
      turns++
      if (running) setImmediate(tick)
    }
    setImmediate(tick)
    const f = await authenticate(input(raw, { mailFrom: 'x@elsewhere.example', ip: '203.0.113.9' }))
    running = false
    assert.deepEqual(f.dkim.map((d) => d.result), direct.results.map((r) => r.status.result))
    assert.deepEqual(f.dkim.map((d) => d.result), ['pass'])
    assert.ok(turns >= Math.floor(raw.length / CHUNK_BYTES), `${turns} turns for ${raw.length} bytes`)
  })
})

describe('DKIM within its share of the bound', () => {
  it('a signed message not hashed by two thirds of the bound: its signature is temperror, and a reject it could align with defers', async () => {
    const body = 'All work and no play makes a long message.\r\n'.repeat(100_000)
    const raw = await signMessage(message('<alice@signed.example>', body), { domain: 'signed.example', selector: 'sel', privateKey: key.privateKey })
    const t0 = Date.now()
    const f = await authenticate(input(raw, { mailFrom: 'x@elsewhere.example', ip: '203.0.113.9', maxLookupsMs: 60 }))
    // The comment shows the bound cut the hashing; the time, that the
    // evaluation ended near the 60 ms bound (the promise), with a second for a
    // loaded machine's late timers.
    assert.deepEqual(f.dkim, [{ domain: 'signed.example', result: 'temperror', comment: 'not verified within the time limit of the evaluation' }])
    assert.ok(Date.now() - t0 < 60 + 1000, `took ${Date.now() - t0} ms`)
    assert.equal(dmarcCheck(f, DMARC_CFG)?.id, 'G1E')
  })
})

describe('fail closed', () => {
  it('an evaluation that throws is DMARC temperror, G1E with the From address, never acceptance', async () => {
    const raw = Buffer.from(message('Alice <alice@sender.example>'))
    let calls = 0
    const indexOf = raw.indexOf.bind(raw)
    // The first read of the message fails, as a bug or unreadable input would.
    raw.indexOf = ((...args: Parameters<Buffer['indexOf']>) => {
      if (calls++ === 0) throw new Error('unreadable')
      return indexOf(...args)
    }) as Buffer['indexOf']
    const f = await authenticate(input(raw))
    assert.equal(f.dmarc?.result, 'temperror')
    assert.match(f.dmarc?.reason ?? '', /authentication failed: unreadable/)
    assert.equal(line(f), '450 4.4.0 alice@sender.example: Temporary DMARC DNS lookup failure (G1E)')
  })
})
