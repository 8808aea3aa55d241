// End to end: G2, G1F and G29 through a real Haraka, with the memory store
// and again with a real Redis.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as net from 'node:net'
import { stopwatch } from '../rig/replay'
import { Haraka, HarakaOptions } from '../rig/haraka'
import { TestDns, ptrName } from '../rig/dns-server'
import { Redis } from '../rig/redis'
import { SmtpClient, message, sendMail } from '../rig/smtp-client'
import { waitFor } from '../rig/wait'

const G2 = '421 Too many concurrent connections from this client (G2)'
const G29 = '550 5.0.0 Received too many messages from a sender mailbox'
const g1f = (ip: string): string => `450 4.7.1 Client host ${ip} has no PTR record (G1F)`

// Client addresses and what the test DNS says of them.
const GOOD = '198.18.0.7' // PTR client.sender.example, which resolves back
const NOPTR = '198.18.0.8' // NXDOMAIN
const SERVFAIL = '198.18.0.9' // the PTR lookup gets SERVFAIL
const SILENT = '198.18.0.10' // the PTR lookup gets no answer
const LIAR = '198.18.0.11' // PTR liar.example, which resolves elsewhere
const GOOD6 = '2001:db8::26'
const NOPTR6 = '2001:db8::25'

let dns: TestDns
let redis: Redis

before(async () => {
  dns = await TestDns.start({
    records: {
      [ptrName(GOOD)]: [{ type: 'PTR', data: 'client.sender.example' }],
      'client.sender.example': [{ type: 'A', data: GOOD }, { type: 'AAAA', data: GOOD6 }],
      [ptrName(LIAR)]: [{ type: 'PTR', data: 'liar.example' }],
      'liar.example': [{ type: 'A', data: '198.18.99.99' }],
      [ptrName(GOOD6)]: [{ type: 'PTR', data: 'client.sender.example' }],
    },
    servfail: [ptrName(SERVFAIL)],
    silent: [ptrName(SILENT)],
  })
  redis = await Redis.start()
})
after(async () => {
  await dns.stop()
  await redis.stop()
})

function node(opts: HarakaOptions & { ini?: Record<string, string> } = {}): Promise<Haraka> {
  return Haraka.start({ dns: dns.address, ...opts, config: { ...opts.config, ...opts.ini } })
}

async function mailFromLine(h: Haraka, ip: string, from = '<alice@sender.example>'): Promise<string> {
  const c = await SmtpClient.connect({ port: h.port, proxyFrom: ip })
  try {
    await c.ehlo('client.sender.example')
    return (await c.send(`MAIL FROM:${from}`)).text
  } finally {
    c.close()
  }
}

function send(h: Haraka, from: string, ip = GOOD): ReturnType<typeof sendMail> {
  return sendMail({ port: h.port, proxyFrom: ip, helo: 'client.sender.example', from, to: ['bob@example.com'], message: message({ from, to: 'bob@example.com' }) })
}

describe('G1F: reverse DNS, sent at MAIL FROM', () => {
  let h: Haraka
  before(async () => { h = await node({ ini: { 'support-codes.ini': '[dns]\ntimeout=1\n' } }) })
  after(async () => { await h.stop() })

  test('no PTR: every MAIL FROM of the session gets G1F, byte for byte', async () => {
    const c = await SmtpClient.connect({ port: h.port, proxyFrom: NOPTR })
    assert.match(c.greeting.text, /^220 /)
    await c.ehlo('client.sender.example')
    assert.equal((await c.send('MAIL FROM:<alice@sender.example>')).text, g1f(NOPTR))
    assert.ok(c.raw.endsWith(`\r\n${g1f(NOPTR)}\r\n`))
    assert.equal((await c.send('MAIL FROM:<alice@sender.example>')).text, g1f(NOPTR))
    await c.quit()
  })

  test('a PTR record: accepted', async () => {
    assert.equal(await mailFromLine(h, GOOD), '250 sender <alice@sender.example> OK')
  })

  test('IPv6 clients', async () => {
    assert.equal(await mailFromLine(h, NOPTR6), g1f(NOPTR6))
    assert.equal(await mailFromLine(h, GOOD6), '250 sender <alice@sender.example> OK')
  })

  test('SERVFAIL and no answer defer by default, within [dns] timeout', async () => {
    assert.equal(await mailFromLine(h, SERVFAIL), g1f(SERVFAIL))
    const t0 = stopwatch()
    assert.equal(await mailFromLine(h, SILENT), g1f(SILENT))
    // [dns] timeout (1 s) holds, with 2 s for the session and a loaded machine.
    assert.ok(t0() < 1000 + 2000, `took ${t0()} ms`)
    await h.waitForLog(/ptr: sent "450 4\.7\.1 Client host 198\.18\.0\.9 has no PTR record \(G1F\)" \(PTR lookup failed \(ESERVFAIL\); dns_error=defer\)/)
    await h.waitForLog(/PTR lookup failed \(ETIMEOUT\); dns_error=defer/)
  })

  test('dns_error=accept lets SERVFAIL and no answer through, but not "no PTR"', async (t) => {
    const h2 = await node({ ini: { 'support-codes.ini': '[dns]\ntimeout=1\n', 'support-codes-connect.ini': '[ptr]\ndns_error=accept\n' } })
    t.after(() => h2.stop())
    assert.equal(await mailFromLine(h2, SERVFAIL), '250 sender <alice@sender.example> OK')
    assert.equal(await mailFromLine(h2, SILENT), '250 sender <alice@sender.example> OK')
    assert.equal(await mailFromLine(h2, NOPTR), g1f(NOPTR))
    // Each let through by the setting is counted in the log (docs/fail-open.md).
    await h2.waitForLog(/ptr: let through by its setting; its safe value would have sent G1F \(PTR lookup failed \(ESERVFAIL\); dns_error=defer\) \[fail-open ptr #1\]/)
    await h2.waitForLog(/ptr: let through by its setting; its safe value would have sent G1F \(PTR lookup failed \(ETIMEOUT\); dns_error=defer\) \[fail-open ptr #2\]/)
  })

  test('fcrdns=true: the PTR name must resolve back', async (t) => {
    const h2 = await node({ ini: { 'support-codes-connect.ini': '[ptr]\nfcrdns=true\n' } })
    t.after(() => h2.stop())
    assert.equal(await mailFromLine(h2, LIAR), g1f(LIAR))
    assert.equal(await mailFromLine(h2, GOOD), '250 sender <alice@sender.example> OK')
    assert.equal(await mailFromLine(h2, GOOD6), '250 sender <alice@sender.example> OK')
  })

  test('monitor mode and the allow list', async (t) => {
    const h2 = await node({ ini: { 'support-codes-connect.ini': '[ptr]\nmonitor=true\n', 'support-codes.ini': '[main]\nallow=198.18.0.10\n' } })
    t.after(() => h2.stop())
    assert.equal(await mailFromLine(h2, NOPTR), '250 sender <alice@sender.example> OK')
    await h2.waitForLog(/monitor: ptr would send "450 4\.7\.1 Client host 198\.18\.0\.8 has no PTR record \(G1F\)"/)
    // Allowed: no G1F, and the greeting still waits at most [dns] timeout.
    const t0 = stopwatch()
    assert.equal(await mailFromLine(h2, SILENT), '250 sender <alice@sender.example> OK')
    assert.ok(t0() < 7000, `took ${t0()} ms`)
  })
})

/** Polls until fn() returns what is wanted (a disconnect is counted just after the client sees it). */
async function eventually<T>(fn: () => Promise<T>, want: T): Promise<T> {
  let got: T | undefined
  await waitFor(`${JSON.stringify(want)}`, async () => JSON.stringify(got = await fn()) === JSON.stringify(want), 5000, 50)
    .catch(() => undefined) // the caller's assert shows what was there instead
  return got as T
}

const concKeys = (): Promise<unknown> => redis.command('KEYS', 'sc:conc:*')

/** Opens a connection and reads the greeting (or the refusal). */
async function open(h: Haraka, ip: string): Promise<SmtpClient> {
  return SmtpClient.connect({ port: h.port, proxyFrom: ip, timeoutMs: 10000 })
}

/** Ends a connection in one of the ways a client or Haraka can end it. */
async function endConnection(h: Haraka, ip: string, way: number): Promise<void> {
  switch (way % 6) {
    case 0: { // QUIT
      const c = await open(h, ip)
      await c.quit()
      return
    }
    case 1: { // client reset (RST)
      const c = await open(h, ip)
      c.reset()
      return
    }
    case 2: { // client closes without QUIT
      const c = await open(h, ip)
      c.close()
      return
    }
    case 3: { // another plugin's DENYDISCONNECT
      const c = await open(h, ip)
      if (c.greeting.code === 220) await c.send('EHLO hangup.test')
      c.close()
      return
    }
    case 4: { // dropped in the middle of DATA
      const c = await open(h, ip)
      if (c.greeting.code === 220) {
        await c.ehlo('client.sender.example')
        await c.send('MAIL FROM:<alice@sender.example>')
        await c.send('RCPT TO:<bob@example.com>')
        await c.send('DATA')
        c.sendRaw('Subject: half\r\n\r\nhalf a mess')
      }
      c.reset()
      return
    }
    default: { // PROXY header then nothing, closed at once
      const s = net.connect(h.port, '127.0.0.1')
      await new Promise((r) => s.on('connect', r))
      s.write(`PROXY TCP4 ${ip} 127.0.0.1 40000 25\r\n`)
      await new Promise((r) => setTimeout(r, 5))
      s.destroy()
    }
  }
}

async function assertCountIsZero(h: Haraka, ip: string, max: number): Promise<void> {
  // With the count at zero, exactly `max` connections fit and one more is refused.
  let clients: SmtpClient[] = []
  let codes: number[] = []
  await waitFor('the count to come back to zero', async () => {
    clients = await Promise.all(Array.from({ length: max }, () => open(h, ip)))
    codes = clients.map((c) => c.greeting.code)
    if (codes.every((c) => c === 220)) return true
    for (const c of clients) c.close()
    return false
  }, 5000, 100).catch(() => assert.fail(`count did not come back to zero: ${codes.join(',')}`))
  const extra = await open(h, ip)
  assert.equal(extra.greeting.text, G2)
  await extra.closed
  for (const c of clients) await c.quit()
}

for (const backend of ['memory', 'redis'] as const) {
  describe(`G2 and G29 with the ${backend} store`, () => {
    const storeIni = (): Record<string, string> => backend === 'redis'
      ? { 'support-codes.ini': '[store]\nbackend=redis\n', 'redis.ini': `[server]\nhost=127.0.0.1\nport=${redis.port}\n` }
      : {}

    test('G2: the connection over [concurrency] max gets 421 and is closed', async (t) => {
      await redis.command('FLUSHALL')
      const h = await node({ ini: { ...storeIni(), 'support-codes-connect.ini': '[concurrency]\nmax=2\n' } })
      t.after(() => h.stop())
      const a = await open(h, GOOD)
      const b = await open(h, GOOD)
      assert.equal(a.greeting.code, 220)
      assert.equal(b.greeting.code, 220)
      const c = await open(h, GOOD)
      assert.equal(c.greeting.text, G2)
      assert.ok(c.raw.endsWith(`${G2}\r\n`))
      await c.closed
      const other = await open(h, NOPTR)
      assert.equal(other.greeting.code, 220, 'another IP is not affected')
      await a.quit()
      await assertCountIsZero(h, GOOD, 1)
      await b.quit()
      await other.quit()
      if (backend === 'redis') assert.deepEqual(await eventually(concKeys, []), [])
    })

    test('G2: after 500 connections ended in every way, the count is back at zero', async (t) => {
      await redis.command('FLUSHALL')
      const h = await node({ ini: { ...storeIni(), 'support-codes-connect.ini': '[concurrency]\nmax=3\n' }, smtp: ['inactivity_timeout=1'] })
      t.after(() => h.stop())
      for (let i = 0; i < 500; i += 25) {
        await Promise.all(Array.from({ length: 25 }, (_, j) => endConnection(h, GOOD, i + j).catch(() => undefined)))
      }
      // Timeouts: connections that say nothing until Haraka drops them.
      const idle = await Promise.all(Array.from({ length: 3 }, () => open(h, GOOD)))
      await Promise.all(idle.map((c) => c.closed))
      assert.match(idle[0].raw, /421 timeout/)
      await assertCountIsZero(h, GOOD, 3)
      if (backend === 'redis') assert.deepEqual(await eventually(concKeys, []), [])
      assert.equal(h.running, true)
    })

    test('G29: at [sender_rate] limit, MAIL FROM gets 550 5.0.0; only accepted mail counts', async (t) => {
      await redis.command('FLUSHALL')
      const h = await node({ ini: { ...storeIni(), 'support-codes-mailfrom.ini': '[sender_rate]\nlimit=2\nperiod=3600\n' } })
      t.after(() => h.stop())
      // Attempts that end before the message is accepted do not count.
      for (let i = 0; i < 3; i++) {
        const c = await open(h, GOOD)
        await c.ehlo('client.sender.example')
        assert.equal((await c.send('MAIL FROM:<alice@sender.example>')).code, 250)
        await c.send('RCPT TO:<bob@example.com>')
        await c.send('RSET')
        await c.quit()
      }
      assert.equal((await send(h, 'alice@sender.example')).data?.code, 250)
      assert.equal((await send(h, 'Alice@Sender.Example')).data?.code, 250)
      const third = await send(h, 'alice@SENDER.example')
      assert.equal(third.mail.text, G29)
      assert.equal((await send(h, 'carol@sender.example')).data?.code, 250, 'another mailbox is not affected')
      assert.equal(h.queued().length, 3)
      if (backend === 'redis') assert.equal((await redis.command('KEYS', 'sc:rate:sender:{alice@sender.example}:*') as unknown[]).length, 1)
    })
  })
}

describe('G2: IPv6 clients counted per network', () => {
  // Three addresses of one /64, written as a client would, and one of the next /64.
  const SAME = ['2001:db8:1:2::a', '2001:db8:1:2:0:0:0:b', '2001:db8:1:2:ffff:ffff:ffff:1']
  const NEXT = '2001:db8:1:3::a'

  test('two clients in one /64 share the count; the next /64 has its own', async (t) => {
    const h = await node({ ini: { 'support-codes-connect.ini': '[concurrency]\nmax=2\n' } })
    t.after(() => h.stop())
    const held = [await open(h, SAME[0]), await open(h, SAME[1])]
    assert.deepEqual(held.map((c) => c.greeting.code), [220, 220])
    const third = await open(h, SAME[2])
    assert.equal(third.greeting.text, G2)
    await third.closed
    const next = await open(h, NEXT)
    assert.equal(next.greeting.code, 220, 'another /64 is not affected')
    await h.waitForLog(/concurrency: sent "421 Too many concurrent connections from this client \(G2\)" \(3 connections open, max 2\)/)
    // One of the two goes: the network has room for one more again.
    await held[0].quit()
    await assertCountIsZero(h, SAME[2], 1)
    await held[1].quit()
    await next.quit()
  })

  test('[store] ipv6_prefix=128 counts each address on its own', async (t) => {
    const h = await node({ ini: { 'support-codes-connect.ini': '[concurrency]\nmax=1\n', 'support-codes.ini': '[store]\nipv6_prefix=128\n' } })
    t.after(() => h.stop())
    const held = await Promise.all(SAME.map((ip) => open(h, ip)))
    assert.deepEqual(held.map((c) => c.greeting.code), [220, 220, 220])
    const again = await open(h, '2001:db8:1:2::b')
    assert.equal(again.greeting.text, G2, 'the same address written another way')
    await again.closed
    for (const c of held) await c.quit()
  })
})

describe('Redis shared by workers and nodes', () => {
  const ini = (): Record<string, string> => ({
    'support-codes.ini': '[store]\nbackend=redis\n',
    'redis.ini': `[server]\nhost=127.0.0.1\nport=${redis.port}\n`,
    'support-codes-connect.ini': '[concurrency]\nmax=2\n',
  })

  test('G2 holds across two workers (nodes=2)', async (t) => {
    await redis.command('FLUSHALL')
    const h = await node({ ini: ini(), nodes: 2 })
    t.after(() => h.stop())
    await h.waitForLog(/Listening on[\s\S]*Listening on/, 10000).catch(() => undefined)
    const open2 = await Promise.all([open(h, GOOD), open(h, GOOD)])
    assert.deepEqual(open2.map((c) => c.greeting.code), [220, 220])
    // More connections: whichever worker takes them, they are over the limit.
    for (let i = 0; i < 4; i++) {
      const c = await open(h, GOOD)
      assert.equal(c.greeting.text, G2)
      await c.closed
    }
    for (const c of open2) await c.quit()
    await assertCountIsZero(h, GOOD, 2)
  })

  test('G2 holds across two Haraka nodes sharing one Redis', async (t) => {
    await redis.command('FLUSHALL')
    const a = await node({ ini: ini() })
    const b = await node({ ini: ini() })
    t.after(async () => { await a.stop(); await b.stop() })
    const c1 = await open(a, GOOD)
    const c2 = await open(b, GOOD)
    assert.deepEqual([c1.greeting.code, c2.greeting.code], [220, 220])
    assert.equal((await open(a, GOOD)).greeting.text, G2)
    assert.equal((await open(b, GOOD)).greeting.text, G2)
    await c1.quit()
    const c3 = await open(b, GOOD)
    assert.equal(c3.greeting.code, 220)
    await c2.quit()
    await c3.quit()
  })

  test('a node that dies with connections open stops counting for them within [store] heartbeat', async (t) => {
    await redis.command('FLUSHALL')
    const beat = (): Record<string, string> => ({ ...ini(), 'support-codes.ini': '[store]\nbackend=redis\nheartbeat=3\n' })
    const a = await node({ ini: beat() })
    const b = await node({ ini: beat() })
    t.after(async () => { await a.stop(); await b.stop() })
    const held = await Promise.all([open(a, GOOD), open(a, GOOD)])
    assert.deepEqual(held.map((c) => c.greeting.code), [220, 220])
    assert.equal((await open(b, GOOD)).greeting.text, G2)
    await a.kill()
    const killed = Date.now()
    // Node a no longer renews its two members: they lapse within 3 s.
    await waitFor('node b to let a connection in', async () => {
      const c = await open(b, GOOD)
      c.close()
      return c.greeting.code === 220
    }, 15000, 250)
    const waited = Date.now() - killed
    assert.ok(waited <= 3000 + 2000, `counted for ${waited} ms after the node died`)
  })

  test('Redis stopped and restarted with mail flowing: mail goes through, counts recover', async (t) => {
    await redis.command('FLUSHALL')
    const h = await node({
      ini: {
        ...ini(),
        'support-codes-connect.ini': '[concurrency]\nmax=3\n',
        'support-codes-mailfrom.ini': '[sender_rate]\nlimit=3\n',
      },
    })
    t.after(() => h.stop())
    assert.equal((await send(h, 'dave@sender.example')).data?.code, 250)
    const held = await open(h, GOOD)
    await redis.kill()
    const during: number[] = []
    for (let i = 0; i < 5; i++) during.push((await send(h, 'dave@sender.example')).data?.code ?? 0)
    assert.deepEqual(during, [250, 250, 250, 250, 250], 'fail open while Redis is down')
    await h.waitForLog(/checks that need the store let mail through until it is back/)
    assert.equal((h.log.match(/checks that need the store let mail through until it is back/g) ?? []).length, 1, 'said once')
    await held.quit()
    await redis.restart()
    await h.waitForLog(/is back; checks that count use it again/, 10000)
    // Each command that failed for want of Redis was counted as mail let through (docs/fail-open.md).
    const back = /is back; checks that count use it again \((\d+) store operation\(s\) let mail through meanwhile\) \[fail-open store #(\d+)\]/.exec(h.log)
    assert.ok(back, 'the back line counts the fail-open operations')
    assert.ok(Number(back[1]) >= 5 && Number(back[2]) >= Number(back[1]), back[0])
    // Counting starts again from what Redis holds (nothing, after the restart).
    assert.equal((await send(h, 'dave@sender.example')).data?.code, 250)
    assert.equal((await send(h, 'dave@sender.example')).data?.code, 250)
    assert.equal((await send(h, 'dave@sender.example')).data?.code, 250)
    assert.equal((await send(h, 'dave@sender.example')).mail.text, G29)
    await assertCountIsZero(h, GOOD, 3)
    assert.deepEqual(await eventually(concKeys, []), [])
    assert.equal(h.running, true)
  })
})
