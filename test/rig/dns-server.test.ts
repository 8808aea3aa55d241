// The test DNS server, queried through Node's own resolver (c-ares) the way
// the plugins query it, plus the preload that redirects a whole process.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import * as dgram from 'node:dgram'
import * as net from 'node:net'
import * as path from 'node:path'
import { promises as dnsp } from 'node:dns'
import * as dnsPacket from 'dns-packet'
import { TestDns, ptrName, reverseName } from './dns-server'

const PRELOAD = path.join(__dirname, 'dns-preload.js')
const BIG_TXT = 'v=test1 ' + 'abcdefghij'.repeat(90)

function errCode(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (err: NodeJS.ErrnoException) => err.code,
  )
}

function resolverFor(dns: TestDns, opts?: { timeout?: number; tries?: number }): dnsp.Resolver {
  const r = new dnsp.Resolver(opts)
  r.setServers([dns.address])
  return r
}

describe('ptrName and reverseName', () => {
  it('builds in-addr.arpa names for IPv4', () => {
    assert.equal(ptrName('192.0.2.10'), '10.2.0.192.in-addr.arpa')
    assert.equal(reverseName('127.0.0.2', 'zen.example'), '2.0.0.127.zen.example')
    assert.equal(reverseName('127.0.0.2', 'zen.example.'), '2.0.0.127.zen.example')
  })

  it('expands :: and embedded IPv4 into nibbles for IPv6', () => {
    const nibbles = '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2'
    assert.equal(ptrName('2001:db8::1'), `${nibbles}.ip6.arpa`)
    assert.equal(ptrName('2001:0DB8:0:0:0:0:0:1'), `${nibbles}.ip6.arpa`)
    assert.equal(reverseName('2001:db8::1', 'list.example'), `${nibbles}.list.example`)
    assert.equal(ptrName('::1'), `1.${'0.'.repeat(31)}ip6.arpa`)
    assert.equal(ptrName('::ffff:192.0.2.1'), ptrName('::ffff:c000:201'))
    assert.throws(() => ptrName('not-an-ip'))
  })
})

describe('TestDns answers Node resolvers', () => {
  let dns: TestDns
  let r: dnsp.Resolver

  before(async () => {
    dns = await TestDns.start({
      records: {
        'host.test.example': [
          { type: 'A', data: '192.0.2.10' },
          { type: 'A', data: '192.0.2.11' },
          { type: 'AAAA', data: '2001:db8::10' },
        ],
        'Mixed.Test.Example': [{ type: 'A', data: '192.0.2.12' }],
        'test.example': [
          { type: 'MX', data: { preference: 10, exchange: 'mx1.test.example' } },
          { type: 'MX', data: { preference: 20, exchange: 'mx2.test.example.' } },
          { type: 'NS', data: 'ns.test.example' },
          { type: 'TXT', data: 'v=spf1 -all' },
          { type: 'TXT', data: ['part one ', 'part two'] },
        ],
        'big.test.example': [{ type: 'TXT', data: BIG_TXT }],
        [ptrName('192.0.2.10')]: [{ type: 'PTR', data: 'host.test.example' }],
        [ptrName('2001:db8::10')]: [{ type: 'PTR', data: 'host6.test.example' }],
        'alias.test.example': [{ type: 'CNAME', data: 'alias2.test.example' }],
        'alias2.test.example': [{ type: 'CNAME', data: 'host.test.example' }],
        'outside.test.example': [{ type: 'CNAME', data: 'elsewhere.invalid' }],
        'loop1.test.example': [{ type: 'CNAME', data: 'loop2.test.example' }],
        'loop2.test.example': [{ type: 'CNAME', data: 'loop1.test.example' }],
        'deep.ent.test.example': [{ type: 'A', data: '192.0.2.20' }],
        '*.wild.test.example': [{ type: 'A', data: '192.0.2.30' }, { type: 'TXT', data: 'wild' }],
        'exact.wild.test.example': [{ type: 'A', data: '192.0.2.31' }],
        'sf.test.example': [{ type: 'A', data: '192.0.2.40' }],
      },
      servfail: ['sf.test.example'],
      silent: ['quiet.test.example'],
    })
    r = resolverFor(dns)
  })
  after(() => dns.stop())

  it('reports its address', () => {
    assert.equal(dns.host, '127.0.0.1')
    assert.equal(dns.address, `127.0.0.1:${dns.port}`)
    assert.ok(dns.port > 0)
  })

  it('answers A and AAAA', async () => {
    assert.deepEqual((await r.resolve4('host.test.example')).sort(), ['192.0.2.10', '192.0.2.11'])
    assert.deepEqual(await r.resolve6('host.test.example'), ['2001:db8::10'])
    assert.deepEqual(await r.resolve4('host.test.example', { ttl: true }), [
      { address: '192.0.2.10', ttl: 300 },
      { address: '192.0.2.11', ttl: 300 },
    ])
  })

  it('matches names case-insensitively', async () => {
    assert.deepEqual(await r.resolve4('mixed.test.example'), ['192.0.2.12'])
    assert.deepEqual(await r.resolve4('HOST.test.EXAMPLE.'), ['192.0.2.10', '192.0.2.11'])
  })

  it('answers MX, NS and TXT, including a record of several strings', async () => {
    const mx = (await r.resolveMx('test.example'))
      .map(({ exchange, priority }) => ({ exchange, priority }))
      .sort((a, b) => a.priority - b.priority)
    assert.deepEqual(mx, [
      { exchange: 'mx1.test.example', priority: 10 },
      { exchange: 'mx2.test.example', priority: 20 },
    ])
    assert.deepEqual(await r.resolveNs('test.example'), ['ns.test.example'])
    const txt = await r.resolveTxt('test.example')
    assert.deepEqual(
      txt.sort((a, b) => a.length - b.length),
      [['v=spf1 -all'], ['part one ', 'part two']],
    )
  })

  it('answers PTR for IPv4 and IPv6', async () => {
    assert.deepEqual(await r.resolvePtr(ptrName('192.0.2.10')), ['host.test.example'])
    assert.deepEqual(await r.resolvePtr(ptrName('2001:db8::10')), ['host6.test.example'])
    assert.deepEqual(await r.reverse('192.0.2.10'), ['host.test.example'])
    assert.deepEqual(await r.reverse('2001:db8::10'), ['host6.test.example'])
  })

  it('chases CNAMEs to the target records', async () => {
    assert.deepEqual((await r.resolve4('alias.test.example')).sort(), ['192.0.2.10', '192.0.2.11'])
    assert.deepEqual(await r.resolve6('alias.test.example'), ['2001:db8::10'])
    assert.deepEqual(await r.resolveCname('alias.test.example'), ['alias2.test.example'])
    // A dangling CNAME is NXDOMAIN, as a recursive resolver reports it.
    assert.equal(await errCode(r.resolve4('outside.test.example')), 'ENOTFOUND')
    // A target without the asked type leaves only the CNAME; Node resolves
    // that to an empty list, not ENODATA.
    assert.deepEqual(await r.resolveMx('alias.test.example'), [])
    // A loop ends instead of hanging the server.
    assert.deepEqual(await r.resolve4('loop1.test.example'), [])
  })

  it('gives NXDOMAIN for unknown names and NODATA for other types', async () => {
    assert.equal(await errCode(r.resolve4('nowhere.test.example')), 'ENOTFOUND')
    assert.equal(await errCode(r.resolveMx('host.test.example')), 'ENODATA')
    assert.equal(await errCode(r.resolveTxt('host.test.example')), 'ENODATA')
    // A name with names below it exists, as in real DNS.
    assert.equal(await errCode(r.resolve4('ent.test.example')), 'ENODATA')
  })

  it('answers wildcards only where no name exists', async () => {
    assert.deepEqual(await r.resolve4('a.b.wild.test.example'), ['192.0.2.30'])
    assert.deepEqual(await r.resolveTxt('x.wild.test.example'), [['wild']])
    assert.deepEqual(await r.resolve4('exact.wild.test.example'), ['192.0.2.31'])
    // Below an existing name the wildcard of the parent does not apply.
    assert.equal(await errCode(r.resolve4('sub.exact.wild.test.example')), 'ENOTFOUND')
    // The parent of the wildcard is a name of its own.
    assert.equal(await errCode(r.resolve4('wild.test.example')), 'ENODATA')
  })

  it('answers SERVFAIL when asked to, and stops when told', async () => {
    assert.equal(await errCode(r.resolve4('sf.test.example')), 'ESERVFAIL')
    assert.equal(await errCode(r.resolveTxt('sf.test.example')), 'ESERVFAIL')
    dns.servfail('sf.test.example', false)
    assert.deepEqual(await r.resolve4('sf.test.example'), ['192.0.2.40'])
    dns.servfail('sf.test.example')
    assert.equal(await errCode(r.resolve4('sf.test.example')), 'ESERVFAIL')
  })

  it('never answers a silent name, so the resolver times out', async () => {
    const quick = resolverFor(dns, { timeout: 300, tries: 1 })
    const t0 = Date.now()
    assert.equal(await errCode(quick.resolve4('quiet.test.example')), 'ETIMEOUT')
    const took = Date.now() - t0
    // ETIMEOUT shows the resolver gave up; the bound, five times the 300 ms
    // set, that it gave up on that timeout and not a default one.
    assert.ok(took < 1500, `took ${took} ms`)
    assert.ok(dns.queries.some((q) => q.name === 'quiet.test.example' && q.proto === 'udp'))
  })

  it('truncates large UDP answers so the resolver retries over TCP', async () => {
    const before = dns.queries.length
    const txt = await r.resolveTxt('big.test.example')
    assert.equal(txt.length, 1)
    assert.equal(txt[0].join(''), BIG_TXT)
    // Long text is split into strings of at most 255 bytes.
    assert.ok(txt[0].every((s) => Buffer.byteLength(s) <= 255))
    const asked = dns.queries.slice(before).filter((q) => q.name === 'big.test.example')
    assert.deepEqual(
      asked.map((q) => q.proto),
      ['udp', 'tcp'],
    )
  })

  it('delays answers for a name', async () => {
    dns.add('slow.test.example', { type: 'A', data: '192.0.2.50' })
    dns.delay('slow.test.example', 250)
    const t0 = Date.now()
    assert.deepEqual(await r.resolve4('slow.test.example'), ['192.0.2.50'])
    assert.ok(Date.now() - t0 >= 240, 'answer came too early')
    // Undelayed, it answers before a name still delayed, asked first.
    dns.delay('slow.test.example', 0)
    dns.add('slower.test.example', { type: 'A', data: '192.0.2.51' })
    dns.delay('slower.test.example', 250)
    const order: string[] = []
    await Promise.all(['slower.test.example', 'slow.test.example'].map((name) => r.resolve4(name).then(() => order.push(name))))
    assert.deepEqual(order, ['slow.test.example', 'slower.test.example'])
  })

  it('sees records added, replaced and removed at run time', async () => {
    dns.add('live.test.example', { type: 'A', data: '192.0.2.60' })
    dns.add('live.test.example', [{ type: 'A', data: '192.0.2.61' }])
    assert.deepEqual((await r.resolve4('live.test.example')).sort(), ['192.0.2.60', '192.0.2.61'])
    dns.set('LIVE.test.example', [{ type: 'TXT', data: 'now text' }])
    assert.equal(await errCode(r.resolve4('live.test.example')), 'ENODATA')
    assert.deepEqual(await r.resolveTxt('live.test.example'), [['now text']])
    dns.remove('live.test.example')
    assert.equal(await errCode(r.resolveTxt('live.test.example')), 'ENOTFOUND')
  })

  it('logs what was asked', async () => {
    await r.resolveMx('test.example')
    assert.deepEqual(dns.queries.at(-1), { name: 'test.example', type: 'MX', proto: 'udp' })
  })
})

// Raw packets: flags, framing and robustness that a resolver hides.
describe('TestDns on the wire', () => {
  let dns: TestDns

  before(async () => {
    dns = await TestDns.start({
      records: { 'wire.test.example': [{ type: 'A', data: '192.0.2.70' }] },
    })
  })
  after(() => dns.stop())

  function query(id: number, name: string, type: 'A' | 'TXT' = 'A'): Buffer {
    return dnsPacket.encode({
      type: 'query',
      id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type, name, class: 'IN' }],
    })
  }

  function udpAsk(msgs: Buffer[], want: number): Promise<dnsPacket.DecodedPacket[]> {
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket('udp4')
      const got: dnsPacket.DecodedPacket[] = []
      const timer = setTimeout(() => {
        sock.close()
        reject(new Error(`only ${got.length} of ${want} replies`))
      }, 2000)
      sock.on('message', (m) => {
        got.push(dnsPacket.decode(m))
        if (got.length === want) {
          clearTimeout(timer)
          sock.close()
          resolve(got)
        }
      })
      for (const m of msgs) sock.send(m, dns.port, dns.host)
    })
  }

  it('echoes id and question and sets aa and ra', async () => {
    const [res] = await udpAsk([query(4242, 'Wire.Test.Example')], 1)
    assert.equal(res.id, 4242)
    assert.equal(res.flag_qr, true)
    assert.equal(res.flag_aa, true)
    assert.equal(res.flag_ra, true)
    assert.equal(res.flag_rd, true)
    assert.equal(res.flag_tc, false)
    assert.equal((res as { rcode?: string }).rcode, 'NOERROR')
    assert.deepEqual(res.questions, [{ name: 'Wire.Test.Example', type: 'A', class: 'IN' }])
    assert.equal(res.answers?.length, 1)
    const [nx] = await udpAsk([query(7, 'nx.test.example')], 1)
    assert.equal((nx as { rcode?: string }).rcode, 'NXDOMAIN')
    assert.equal(nx.flag_aa, true)
  })

  it('ignores malformed packets and keeps answering', async () => {
    const junk = [Buffer.from([1, 2, 3]), Buffer.alloc(0), Buffer.from('not a dns packet at all'), query(1, 'x').subarray(0, 15)]
    const [res] = await udpAsk([...junk, query(99, 'wire.test.example')], 1)
    assert.equal(res.id, 99)
    // The same over TCP: a junk frame, then a good one on the same connection.
    const sock = net.connect(dns.port, dns.host)
    const bad = Buffer.from([0, 3, 9, 9, 9])
    const good = dnsPacket.streamEncode(dnsPacket.decode(query(100, 'wire.test.example')))
    sock.write(Buffer.concat([bad, good]))
    const reply = await readFrames(sock, 1)
    sock.destroy()
    assert.equal(reply[0].id, 100)
  })

  it('answers several queries on one TCP connection, split at any byte', async () => {
    const frames = [1, 2, 3].map((id) => dnsPacket.streamEncode(dnsPacket.decode(query(id, 'wire.test.example'))))
    const all = Buffer.concat(frames)
    const sock = net.connect(dns.port, dns.host)
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()))
    const replies = readFrames(sock, 3)
    // One byte at a time, with pauses so each arrives as its own read.
    for (let i = 0; i < all.length; i++) {
      sock.write(all.subarray(i, i + 1))
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    const got = await replies
    assert.deepEqual(
      got.map((p) => p.id).sort(),
      [1, 2, 3],
    )
    assert.ok(got.every((p) => (p.answers?.[0] as { data?: unknown } | undefined)?.data === '192.0.2.70'))
    assert.equal(dns.queries.filter((q) => q.proto === 'tcp').length >= 3, true)
    sock.destroy()
  })

  it('sets TC over UDP only, with the whole answer over TCP', async () => {
    dns.set('big.wire.test.example', [{ type: 'TXT', data: BIG_TXT }])
    const [udp] = await udpAsk([query(5, 'big.wire.test.example', 'TXT')], 1)
    assert.equal(udp.flag_tc, true)
    assert.deepEqual(udp.answers, [])
    const sock = net.connect(dns.port, dns.host)
    sock.write(dnsPacket.streamEncode(dnsPacket.decode(query(6, 'big.wire.test.example', 'TXT'))))
    const [tcp] = await readFrames(sock, 1)
    sock.destroy()
    assert.equal(tcp.flag_tc, false)
    assert.equal(tcp.answers?.length, 1)
  })

  it('closes open TCP connections on stop', async () => {
    const other = await TestDns.start({ silent: ['never.test.example'] })
    const sock = net.connect(other.port, other.host)
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()))
    sock.write(dnsPacket.streamEncode(dnsPacket.decode(query(8, 'never.test.example'))))
    const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()))
    sock.on('error', () => {})
    await other.stop()
    await closed
    // Stopping twice is harmless.
    await other.stop()
  })
})

function readFrames(sock: net.Socket, want: number): Promise<dnsPacket.DecodedPacket[]> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0)
    const got: dnsPacket.DecodedPacket[] = []
    const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${want} TCP replies`)), 2000)
    sock.on('error', reject)
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0)
        got.push(dnsPacket.decode(buf.subarray(2, 2 + len)))
        buf = buf.subarray(2 + len)
      }
      if (got.length >= want) {
        clearTimeout(timer)
        resolve(got)
      }
    })
  })
}

describe('dns-preload', () => {
  let dns: TestDns

  before(async () => {
    dns = await TestDns.start({
      records: {
        'a.test.example': [{ type: 'A', data: '192.0.2.80' }],
        'mx.test.example': [
          { type: 'A', data: '192.0.2.81' },
          { type: 'AAAA', data: '2001:db8::81' },
        ],
        [ptrName('192.0.2.80')]: [{ type: 'PTR', data: 'a.test.example' }],
        'local.test.example': [{ type: 'A', data: '127.0.0.1' }],
      },
    })
  })
  after(() => dns.stop())

  function runNode(script: string, env: NodeJS.ProcessEnv): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        ['--require', PRELOAD, '-e', script],
        { env, timeout: 10_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
      )
    })
  }

  it('points every resolver and lookup of a process at the test server', async () => {
    const script = `
      const dns = require('dns')
      const Captured = require('dns').promises.Resolver
      const cb = (fn) => new Promise((res, rej) => fn((err, ...v) => (err ? rej(err) : res(v))))
      ;(async () => {
        const r = new Captured()
        const a = await r.resolve4('a.test.example')
        // Library code that picks its own servers is brought back.
        r.setServers(['192.0.2.53'])
        const servers = r.getServers()
        const again = await r.resolve4('a.test.example')
        const [names] = await cb((done) => dns.reverse('192.0.2.80', done))
        const lookup = await dns.promises.lookup('mx.test.example')
        const lookupAll = await dns.promises.lookup('mx.test.example', { all: true })
        const [addr4, fam4] = await cb((done) => dns.lookup('mx.test.example', 4, done))
        const [addr6] = await cb((done) => dns.lookup('mx.test.example', { family: 6 }, done))
        const cbResolver = new dns.Resolver()
        cbResolver.setServers(['192.0.2.53'])
        const [cbA] = await cb((done) => cbResolver.resolve4('a.test.example', done))
        dns.setServers(['192.0.2.53'])
        const [moduleA] = await cb((done) => dns.resolve4('a.test.example', done))
        const local = await dns.promises.lookup('localhost', { family: 4 })
        const literal = await dns.promises.lookup('192.0.2.99')
        const missing = await dns.promises.lookup('nowhere.test.example').catch((e) => e.code)
        const promisified = await require('util').promisify(dns.lookup)('mx.test.example', 4)
        // Sockets connecting by name resolve through the patched lookup too.
        const net = require('net')
        const srv = net.createServer((c) => c.end()).listen(0, '127.0.0.1')
        await new Promise((res) => srv.once('listening', res))
        const connected = await new Promise((res, rej) => {
          const c = net.connect({ host: 'local.test.example', port: srv.address().port }, () => {
            res(c.remoteAddress)
            c.destroy()
          })
          c.on('error', rej)
        })
        srv.close()
        console.log(JSON.stringify({ a, servers, again, names, lookup, lookupAll, addr4, fam4, addr6, cbA,
          moduleA, moduleServers: dns.getServers(), local, literal, missing, promisified, connected }))
      })().catch((e) => { console.error(e); process.exit(1) })
    `
    const before = dns.queries.length
    const out = JSON.parse(await runNode(script, { ...process.env, SC_TEST_DNS: dns.address }))
    assert.deepEqual(out.a, ['192.0.2.80'])
    assert.deepEqual(out.servers, [dns.address])
    assert.deepEqual(out.again, ['192.0.2.80'])
    assert.deepEqual(out.names, ['a.test.example'])
    assert.deepEqual(out.lookup, { address: '192.0.2.81', family: 4 })
    assert.deepEqual(out.lookupAll, [
      { address: '192.0.2.81', family: 4 },
      { address: '2001:db8::81', family: 6 },
    ])
    assert.equal(out.addr4, '192.0.2.81')
    assert.equal(out.fam4, 4)
    assert.equal(out.addr6, '2001:db8::81')
    assert.deepEqual(out.cbA, ['192.0.2.80'])
    assert.deepEqual(out.moduleA, ['192.0.2.80'])
    assert.deepEqual(out.moduleServers, [dns.address])
    assert.deepEqual(out.local, { address: '127.0.0.1', family: 4 })
    assert.deepEqual(out.literal, { address: '192.0.2.99', family: 4 })
    assert.equal(out.missing, 'ENOTFOUND')
    assert.deepEqual(out.promisified, { address: '192.0.2.81', family: 4 })
    assert.equal(out.connected, '127.0.0.1')

    const asked = dns.queries.slice(before)
    assert.ok(asked.some((q) => q.name === 'a.test.example' && q.type === 'A'))
    assert.ok(asked.some((q) => q.name === ptrName('192.0.2.80') && q.type === 'PTR'))
    assert.ok(asked.some((q) => q.name === 'mx.test.example' && q.type === 'AAAA'))
    assert.ok(asked.some((q) => q.name === 'nowhere.test.example'))
    assert.ok(asked.some((q) => q.name === 'local.test.example'))
    // localhost and literals never reach DNS.
    assert.ok(!asked.some((q) => q.name.startsWith('localhost') || q.name.includes('192.0.2.99')))
  })

  it('does nothing without SC_TEST_DNS, and never breaks the process', async () => {
    const script = `
      const dns = require('dns')
      console.log(JSON.stringify({
        own: Object.prototype.hasOwnProperty.call(dns.promises.Resolver.prototype, 'setServers'),
        servers: dns.getServers(),
      }))
    `
    const env = { ...process.env }
    delete env.SC_TEST_DNS
    const plain = JSON.parse(await runNode(script, env))
    assert.equal(plain.own, false)
    assert.ok(!plain.servers.includes(dns.address))
    const bad = JSON.parse(await runNode(script, { ...env, SC_TEST_DNS: 'garbage' }))
    assert.equal(bad.own, false)
  })
})
