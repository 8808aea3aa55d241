// Recipient callouts against the rig's downstream SMTP server and DNS
// server, the G6/G7/G8/G9 check, and the answer cache.
import { describe, test, TestContext } from 'node:test'
import assert from 'node:assert/strict'
import * as net from 'node:net'
import { Callout, CalloutAnswer, CalloutOptions, calloutTargets, parseRoutes } from '../../../plugins/lib/callout/callout'
import { cachedCallout, calloutCheck } from '../../../plugins/lib/checks/callout'
import { makeDns } from '../../../plugins/lib/dns/resolver'
import { MemoryStore } from '../../../plugins/lib/store/memory'
import { CounterStore } from '../../../plugins/lib/store/types'
import { Downstream, DownstreamOptions } from '../../rig/downstream'
import { TestDns } from '../../rig/dns-server'
import { freePort } from '../../rig/ports'

const HELO = 'callout.test'

function callout(opts: Partial<CalloutOptions> = {}): Callout {
  return new Callout({ helo: HELO, timeoutMs: 2000, maxPerServer: 5, ...opts })
}

async function downstream(t: TestContext, opts: DownstreamOptions = {}): Promise<Downstream> {
  const ds = await Downstream.start(opts)
  t.after(() => ds.stop())
  return ds
}

async function until(what: string, ok: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** A server that plays a script: each client line gets the next reply, written in pieces. */
async function scripted(t: TestContext, greeting: string[], replies: string[][]): Promise<{ port: number; received: string[] }> {
  const received: string[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((sock) => {
    sockets.add(sock)
    sock.setNoDelay(true)
    sock.on('error', () => {})
    sock.on('close', () => sockets.delete(sock))
    let next = 0
    let buf = ''
    // Pieces go out 5 ms apart so that each arrives as a packet of its own.
    const write = async (pieces: string[]): Promise<void> => {
      for (const p of pieces) {
        if (sock.destroyed) return
        sock.write(p)
        await new Promise((r) => setTimeout(r, 5))
      }
    }
    sock.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1')
      let nl: number
      while ((nl = buf.indexOf('\r\n')) >= 0) {
        received.push(buf.slice(0, nl))
        buf = buf.slice(nl + 2)
        const pieces = replies[next++]
        if (pieces) void write(pieces)
        else sock.end()
      }
    })
    void write(greeting)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    for (const s of sockets) s.destroy()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { port: (server.address() as net.AddressInfo).port, received }
}

describe('Callout.verify', () => {
  test('classifies each RCPT TO answer', async (t) => {
    const cases: Array<[string, string, CalloutAnswer['result'], number]> = [
      ['ok@example.com', '250 2.1.5 OK', 'valid', 250],
      ['plain250@example.com', '250 OK', 'valid', 250],
      ['nouser@example.com', '550 5.1.1 No such user', 'unknown', 550],
      ['notlocal@example.com', '551 User not local', 'unknown', 551],
      ['notallowed@example.com', '553 Mailbox name not allowed', 'unknown', 553],
      ['bare550@example.com', '550 Mailbox unavailable', 'unknown', 550],
      // An enhanced code other than 5.1.x makes a 550 a refusal.
      ['policy@example.com', '550 5.7.1 Relaying denied', 'refused', 550],
      ['full@example.com', '552 5.2.2 Mailbox full', 'refused', 552],
      ['failed@example.com', '554 Transaction failed', 'refused', 554],
      ['554user@example.com', '554 5.1.1 Unknown recipient', 'unknown', 554],
      ['badaddr@example.com', '553 5.1.3 Bad address syntax', 'unknown', 553],
      // An enhanced code of another class than the reply's is not one (RFC 2034 4).
      ['odd550@example.com', '550 4.7.1 Odd', 'unknown', 550],
      ['odd554@example.com', '554 4.1.1 Odd', 'refused', 554],
      ['later@example.com', '450 4.2.1 Try again later', 'tempfail', 450],
      ['multi@example.com', '550-5.1.1 The email account that you tried to reach\n550 5.1.1 does not exist', 'unknown', 550],
    ]
    const ds = await downstream(t, { answers: Object.fromEntries(cases.map(([rcpt, answer]) => [rcpt, answer])) })
    const c = callout()
    for (const [rcpt, answer, result, code] of cases) {
      const got = await c.verify({ host: ds.host, port: ds.port }, rcpt)
      assert.equal(got.result, result, `${rcpt}: ${answer}`)
      assert.equal(got.code, code, rcpt)
    }
    const multi = await c.verify({ host: ds.host, port: ds.port }, 'multi@example.com')
    assert.equal(multi.reply, '550 5.1.1 The email account that you tried to reach 5.1.1 does not exist')
    await until('every dialogue closed', () => c.active === 0 && ds.open === 0)
  })

  test('sends EHLO, MAIL FROM:<>, RCPT TO:<x>, QUIT, CRLF-terminated', async (t) => {
    const ds = await downstream(t)
    const c = callout()
    const got = await c.verify({ host: ds.host, port: ds.port }, 'Bob@Example.com')
    assert.deepEqual(got, { result: 'valid', code: 250, reply: '250 2.1.5 OK' })
    await until('QUIT', () => ds.sessions[0]?.commands.length === 4 && ds.open === 0 && c.active === 0)
    assert.deepEqual(ds.sessions[0].commands, [`EHLO ${HELO}`, 'MAIL FROM:<>', 'RCPT TO:<Bob@Example.com>', 'QUIT'])

    const withSender = callout({ sender: 'verify@mx.test' })
    await withSender.verify({ host: ds.host, port: ds.port }, 'bob@example.com')
    await until('QUIT', () => ds.sessions[1]?.commands.length === 4)
    assert.equal(ds.sessions[1].commands[1], 'MAIL FROM:<verify@mx.test>')
  })

  test('multi-line replies split across packets; EHLO refused falls back to HELO', async (t) => {
    const srv = await scripted(t, ['22', '0 split', '.test\r', '\n'], [
      ['502 5.5.1 ', 'EHLO not implemented\r\n'],
      ['250-split.test\r\n250', '-SIZE 1000\r\n', '250 HELP\r\n'],
      ['250 2.1.0', ' OK\r\n'],
      ['550-5.1.1 no\r\n', '550-5.1.1 such\r\n550 5.1.1 user\r\n'],
      ['221 bye\r\n'],
    ])
    const got = await callout().verify({ host: '127.0.0.1', port: srv.port }, 'x@example.com')
    assert.deepEqual(got, { result: 'unknown', code: 550, reply: '550 5.1.1 no 5.1.1 such 5.1.1 user' })
    await until('QUIT', () => srv.received.length === 5)
    assert.deepEqual(srv.received, [`EHLO ${HELO}`, `HELO ${HELO}`, 'MAIL FROM:<>', 'RCPT TO:<x@example.com>', 'QUIT'])
  })

  test('garbage and a changing code within a reply are tempfail', async (t) => {
    const junk = await scripted(t, ['HTTP/1.1 400 Bad Request\r\n'], [])
    const a = await callout().verify({ host: '127.0.0.1', port: junk.port }, 'x@example.com')
    assert.equal(a.result, 'tempfail')
    assert.match(a.reply, /not an SMTP reply/)
    const mixed = await scripted(t, ['220 ok\r\n'], [['250-a\r\n251 b\r\n']])
    const b = await callout().verify({ host: '127.0.0.1', port: mixed.port }, 'x@example.com')
    assert.equal(b.result, 'tempfail')
    assert.match(b.reply, /code changed/)
  })

  // A 4xx or 5xx before RCPT TO says nothing about the recipient (a 5xx to
  // MAIL FROM:<> refuses our null sender, a 554 greeting our host): tempfail.
  test('4xx/5xx greeting or MAIL FROM is tempfail, with the code', async (t) => {
    const ds = await downstream(t)
    const c = callout()
    const target = { host: ds.host, port: ds.port }
    for (const [set, answer] of [
      ['greeting', '421 4.3.2 Service not available'],
      ['greeting', '554 5.7.1 No SMTP service here'],
      ['mailFrom', '451 4.3.0 Try later'],
      ['mailFrom', '550 5.7.1 Null sender refused'],
    ] as const) {
      if (set === 'greeting') ds.setGreeting(answer)
      else ds.setMailFrom(answer)
      const got = await c.verify(target, 'ok@example.com')
      assert.equal(got.result, 'tempfail', `${set} ${answer}`)
      assert.equal(got.code, Number(answer.slice(0, 3)))
      assert.ok(got.reply.includes(answer), got.reply)
      ds.setGreeting('220 downstream.test ESMTP')
      ds.setMailFrom('250 2.1.0 OK')
    }
    await until('every dialogue closed', () => c.active === 0 && ds.open === 0)
  })

  test('a server that never answers RCPT TO: tempfail within timeoutMs, socket gone', async (t) => {
    const ds = await downstream(t, { answers: { 'slow@example.com': 'hang' } })
    const c = callout({ timeoutMs: 300 })
    const started = Date.now()
    const pending = c.verify({ host: ds.host, port: ds.port }, 'slow@example.com')
    await until('the dialogue to open', () => c.active === 1)
    const got = await pending
    const took = Date.now() - started
    assert.equal(got.result, 'tempfail')
    assert.equal(got.code, undefined)
    assert.match(got.reply, /no RCPT TO reply in time/)
    assert.ok(took >= 290 && took <= 400, `took ${took} ms`)
    await until('socket closed', () => c.active === 0 && ds.open === 0)
  })

  test('silent greeting and a dropped connection are tempfail', async (t) => {
    const silent = await downstream(t, { greeting: 'hang' })
    const a = await callout({ timeoutMs: 200 }).verify({ host: silent.host, port: silent.port }, 'x@example.com')
    assert.equal(a.result, 'tempfail')
    assert.match(a.reply, /no greeting in time/)

    const dropper = await downstream(t, { answers: { 'drop@example.com': 'close' } })
    const b = await callout().verify({ host: dropper.host, port: dropper.port }, 'drop@example.com')
    assert.equal(b.result, 'tempfail')
    assert.match(b.reply, /connection closed \(RCPT TO reply\)/)
    await until('sockets closed', () => silent.open === 0 && dropper.open === 0)
  })

  test('nobody listening: tempfail at once', async () => {
    const port = await freePort()
    const started = Date.now()
    const got = await callout({ timeoutMs: 5000 }).verify({ host: '127.0.0.1', port }, 'x@example.com')
    assert.equal(got.result, 'tempfail')
    assert.match(got.reply, /ECONNREFUSED/)
    assert.ok(Date.now() - started < 1000)
  })

  test('a recipient with CR or LF is never sent', async (t) => {
    const ds = await downstream(t)
    const got = await callout().verify({ host: ds.host, port: ds.port }, 'a@example.com>\r\nDATA')
    assert.equal(got.result, 'tempfail')
    assert.equal(ds.connections, 0)
  })
})

describe('Callout limits and fall-through', () => {
  test('verifyAny passes a dead first target and asks the live second', async (t) => {
    const dead = await freePort()
    const ds = await downstream(t, { answers: { 'gone@example.com': '550 5.1.1 No such user' } })
    const c = callout()
    const got = await c.verifyAny([{ host: '127.0.0.1', port: dead }, { host: ds.host, port: ds.port }], 'gone@example.com')
    assert.equal(got.result, 'unknown')
    assert.equal(ds.connections, 1)
    assert.equal((await c.verifyAny([], 'x@example.com')).result, 'tempfail')
  })

  test('verifyAny passes a 421 greeting but stops at a real answer', async (t) => {
    const busy = await downstream(t, { greeting: '421 4.3.2 Busy' })
    const first = await downstream(t, { default: '550 5.7.1 Go away' })
    const second = await downstream(t)
    const c = callout()
    const got = await c.verifyAny([busy, first, second].map((d) => ({ host: d.host, port: d.port })), 'x@example.com')
    assert.equal(got.result, 'refused')
    assert.equal(busy.connections, 1)
    assert.equal(first.connections, 1)
    assert.equal(second.connections, 0)
  })

  test('maxPerServer: a caller that cannot get a slot in time gives up without connecting', async (t) => {
    const ds = await downstream(t, { answers: { 'slow@example.com': 'hang' } })
    const c = callout({ timeoutMs: 300, maxPerServer: 1 })
    const target = { host: ds.host, port: ds.port }
    const [first, second] = await Promise.all([c.verify(target, 'slow@example.com'), c.verify(target, 'slow@example.com')])
    assert.equal(first.result, 'tempfail')
    assert.match(first.reply, /no RCPT TO reply in time/)
    assert.equal(second.result, 'tempfail')
    assert.equal(second.reply, `too many callouts to 127.0.0.1:${ds.port}`)
    assert.equal(ds.connections, 1)
    await until('slot free', () => c.active === 0)
  })

  test('maxPerServer: waiting callers are served one at a time, first come first served', async (t) => {
    const ds = await downstream(t)
    const c = callout({ maxPerServer: 1 })
    const target = { host: ds.host, port: ds.port }
    let most = 0
    const watch = setInterval(() => (most = Math.max(most, ds.open)), 1)
    t.after(() => clearInterval(watch))
    const rcpts = ['a@example.com', 'b@example.com', 'c@example.com']
    const answers = await Promise.all(rcpts.map((r) => c.verify(target, r)))
    assert.deepEqual(answers.map((a) => a.result), ['valid', 'valid', 'valid'])
    assert.deepEqual(ds.sessions.map((s) => s.rcpts[0]), rcpts)
    assert.ok(most <= 1, `at most one connection open, saw ${most}`)
    // Another server is not held up by this one's queue.
    const other = await downstream(t)
    assert.equal((await c.verify({ host: other.host, port: other.port }, 'd@example.com')).result, 'valid')
  })
})

describe('Callout per client and the queue', () => {
  test('maxPerClient: one client\'s callouts past the limit wait their turn; another client is not held up', async (t) => {
    const ds = await downstream(t, { answers: { 'slow@example.com': 'hang' } })
    const c = callout({ timeoutMs: 1500, maxPerClient: 2, maxPerServer: 10 })
    const target = { host: ds.host, port: ds.port }
    const client = '2001:db8:1:2::/64'
    // Two of the client's callouts hang; its third waits for one of them.
    const hanging = [c.verify(target, 'slow@example.com', client), c.verify(target, 'slow@example.com', client)]
    const third = c.verify(target, 'a@example.com', client)
    await until('two dialogues open', () => ds.open === 2)
    assert.equal(c.queued, 1)
    // Another client gets its answer while the first one's callouts hang.
    const t0 = performance.now()
    assert.equal((await c.verify(target, 'b@example.com', '198.18.0.9')).result, 'valid')
    assert.ok(performance.now() - t0 < 500)
    assert.equal(c.queued, 1)
    const [h1, h2] = await Promise.all(hanging)
    assert.match(h1.reply, /no RCPT TO reply in time/)
    assert.match(h2.reply, /no RCPT TO reply in time/)
    // The third never got a slot before the deadline: it gave up without connecting.
    const got = await third
    assert.deepEqual(got, { result: 'tempfail', reply: `too many callouts for client ${client}` })
    assert.equal(ds.connections, 3)
    assert.equal(c.queued, 0)
    await until('slots free', () => c.active === 0)
  })

  test('maxPerClient: waiting callouts of one client run one after another, first come first served', async (t) => {
    const ds = await downstream(t)
    const c = callout({ maxPerClient: 1, maxPerServer: 10 })
    const target = { host: ds.host, port: ds.port }
    let most = 0
    const watch = setInterval(() => (most = Math.max(most, ds.open)), 1)
    t.after(() => clearInterval(watch))
    const rcpts = ['a@example.com', 'b@example.com', 'c@example.com']
    const answers = await Promise.all(rcpts.map((r) => c.verifyAny([target], r, '198.18.0.1')))
    assert.deepEqual(answers.map((a) => a.result), ['valid', 'valid', 'valid'])
    assert.deepEqual(ds.sessions.map((s) => s.rcpts[0]), rcpts)
    assert.ok(most <= 1, `at most one connection open, saw ${most}`)
  })

  test('maxQueue: a callout that would wait past the queue gets tempfail at once, which is G6', async (t) => {
    const ds = await downstream(t, { default: 'hang' })
    const c = callout({ timeoutMs: 600, maxPerClient: 1, maxPerServer: 1, maxQueue: 2 })
    const target = { host: ds.host, port: ds.port }
    // One open, two waiting (one for its client slot, one for the server's): the queue is full.
    const open = c.verify(target, 'a@example.com', '198.18.0.1')
    await until('one dialogue open', () => ds.open === 1)
    const waiting = [c.verify(target, 'b@example.com', '198.18.0.1'), c.verify(target, 'c@example.com', '198.18.0.2')]
    await until('two waiting', () => c.queued === 2)
    const t0 = performance.now()
    const refused = await Promise.all([c.verify(target, 'd@example.com', '198.18.0.3'), c.verify(target, 'e@example.com', '198.18.0.1'), c.verify(target, 'f@example.com')])
    assert.ok(performance.now() - t0 < 50, 'answered at once, not at the timeout')
    for (const answer of refused) assert.deepEqual(answer, { result: 'tempfail', reply: 'too many callouts waiting (2)' })
    assert.equal(calloutCheck({ rcpt: 'd@example.com', answer: refused[0] })?.id, 'G6')
    assert.equal(ds.connections, 1)
    await Promise.all([open, ...waiting])
    assert.equal(c.queued, 0)
    await until('slots free', () => c.active === 0)
    // Room again once the queue has drained.
    ds.setDefault('250 2.1.5 OK')
    assert.equal((await c.verify(target, 'g@example.com', '198.18.0.3')).result, 'valid')
  })
})

describe('calloutCheck', () => {
  const rcpt = 'bob@example.com'
  test('maps answers to catalog ids', () => {
    assert.equal(calloutCheck({ rcpt, answer: undefined }), undefined)
    assert.equal(calloutCheck({ rcpt, answer: { result: 'valid', code: 250, reply: '250 OK' } }), undefined)
    const g6 = calloutCheck({ rcpt, answer: { result: 'tempfail', code: 450, reply: '450 4.2.1 later' } })
    assert.equal(g6?.id, 'G6')
    assert.deepEqual(g6?.vars, { email: rcpt })
    assert.match(g6?.reason ?? '', /450 4\.2\.1 later/)
    const g89 = calloutCheck({ rcpt, answer: { result: 'unknown', code: 550, reply: '550 5.1.1 No such user' } })
    assert.equal(g89?.id, 'G8/G9')
    assert.deepEqual(g89?.vars, { email: rcpt })
    assert.match(g89?.reason ?? '', /550 5\.1\.1 No such user/)
    const g7 = calloutCheck({ rcpt, answer: { result: 'refused', code: 554, reply: '554 Denied' } })
    assert.equal(g7?.id, 'G7')
    assert.match(g7?.reason ?? '', /554 Denied/)
  })
})

describe('cachedCallout', () => {
  const valid: CalloutAnswer = { result: 'valid', code: 250, reply: '250 OK' }
  const unknown: CalloutAnswer = { result: 'unknown', code: 550, reply: '550 5.1.1 No such user' }
  const tempfail: CalloutAnswer = { result: 'tempfail', code: 450, reply: '450 later' }

  test('valid lives positiveTtl, unknown negativeTtl, tempfail not at all', async () => {
    let now = 1_000_000
    const store = new MemoryStore(() => now)
    let runs = 0
    const run = (a: CalloutAnswer) => async (): Promise<CalloutAnswer> => {
      runs++
      return a
    }
    try {
      assert.deepEqual(await cachedCallout(store, 'Good@Example.com', 3600, 60, run(valid)), { answer: valid, cached: false })
      assert.deepEqual(await cachedCallout(store, 'good@example.com', 3600, 60, run(unknown)), { answer: valid, cached: true })
      assert.equal(await store.fetch('sc:callout:good@example.com') !== undefined, true)
      assert.equal((await cachedCallout(store, 'bad@example.com', 3600, 60, run(unknown))).cached, false)
      assert.deepEqual(await cachedCallout(store, 'bad@example.com', 3600, 60, run(valid)), { answer: unknown, cached: true })
      assert.equal(runs, 2)

      now += 61_000
      assert.deepEqual(await cachedCallout(store, 'bad@example.com', 3600, 60, run(valid)), { answer: valid, cached: false }, 'negative expired')
      assert.equal((await cachedCallout(store, 'good@example.com', 3600, 60, run(unknown))).cached, true, 'positive still there')
      now += 3600_000
      assert.equal((await cachedCallout(store, 'good@example.com', 3600, 60, run(unknown))).cached, false, 'positive expired')

      runs = 0
      assert.equal((await cachedCallout(store, 't@example.com', 3600, 60, run(tempfail))).cached, false)
      assert.equal((await cachedCallout(store, 't@example.com', 3600, 60, run(tempfail))).cached, false)
      assert.equal(runs, 2)
      assert.equal(await store.fetch('sc:callout:t@example.com'), undefined)
    } finally {
      await store.close()
    }
  })

  test('a failing store is a miss, never an error', async () => {
    const broken = new MemoryStore()
    const fail = async (): Promise<never> => {
      throw new Error('store down')
    }
    const store: CounterStore = Object.assign(broken, { fetch: fail, put: fail })
    try {
      assert.deepEqual(await cachedCallout(store, 'x@example.com', 60, 60, async () => valid), { answer: valid, cached: false })
    } finally {
      await broken.close()
    }
  })
})

describe('calloutTargets', () => {
  test('routes, MX by preference, implicit MX, null MX, failures', async (t) => {
    const dns = await TestDns.start({
      records: {
        'mx.example': [
          { type: 'MX', data: { preference: 20, exchange: 'b.mx.example' } },
          { type: 'MX', data: { preference: 10, exchange: 'a.mx.example' } },
          { type: 'MX', data: { preference: 30, exchange: 'none.mx.example' } },
        ],
        'a.mx.example': [{ type: 'A', data: '127.0.0.2' }],
        'b.mx.example': [{ type: 'A', data: '127.0.0.3' }, { type: 'A', data: '127.0.0.2' }],
        'amx.example': [{ type: 'A', data: '127.0.0.4' }],
        'null.example': [{ type: 'MX', data: { preference: 0, exchange: '.' } }],
        'routed.example': [{ type: 'MX', data: { preference: 10, exchange: 'a.mx.example' } }],
        'noaddr.example': [{ type: 'MX', data: { preference: 10, exchange: 'none.mx.example' } }],
      },
      servfail: ['broken.example'],
    })
    t.after(() => dns.stop())
    const resolver = makeDns([dns.address], 1)
    const { routes } = parseRoutes(['Routed.Example=127.0.0.1:2526'])

    assert.deepEqual(await calloutTargets('Routed.Example', routes, resolver), { targets: [{ host: '127.0.0.1', port: 2526 }] })
    assert.deepEqual(await calloutTargets('mx.example', routes, resolver, 2525), {
      targets: [{ host: '127.0.0.2', port: 2525 }, { host: '127.0.0.3', port: 2525 }],
    })
    assert.deepEqual(await calloutTargets('amx.example', routes, resolver), { targets: [{ host: '127.0.0.4', port: 25 }] })

    const none = await calloutTargets('null.example', routes, resolver)
    assert.deepEqual(none.targets, [])
    assert.match(none.why ?? '', /null MX/)
    const failed = await calloutTargets('broken.example', routes, resolver)
    assert.deepEqual(failed.targets, [])
    assert.match(failed.why ?? '', /MX lookup for broken\.example failed \(ESERVFAIL\)/)
    const missing = await calloutTargets('nothing.example', routes, resolver)
    assert.deepEqual(missing.targets, [])
    assert.match(missing.why ?? '', /no MX and no A/)
    const noaddr = await calloutTargets('noaddr.example', routes, resolver)
    assert.deepEqual(noaddr.targets, [])
    assert.match(noaddr.why ?? '', /no address for the MX hosts/)
  })
})

describe('parseRoutes', () => {
  test('good and bad entries', () => {
    const { routes, invalid } = parseRoutes([
      'Example.COM=127.0.0.1:2526',
      'v6.example=[::1]:25',
      'v6port.example=[2001:db8::1]',
      'named.example=MX.Internal',
      ' spaced.example = 127.0.0.9:26 ',
      '',
      'noequals.example',
      'bad.example=127.0.0.1:0',
      'bad2.example=127.0.0.1:70000',
      'bare6.example=::1',
      'bad3.example=[not-v6]:25',
      'bad4.example=999.1.1.1',
      '=127.0.0.1',
      'bad5.example=127.0.0.1:25:26',
    ])
    assert.deepEqual([...routes], [
      ['example.com', { host: '127.0.0.1', port: 2526 }],
      ['v6.example', { host: '::1', port: 25 }],
      ['v6port.example', { host: '2001:db8::1', port: 25 }],
      ['named.example', { host: 'mx.internal', port: 25 }],
      ['spaced.example', { host: '127.0.0.9', port: 26 }],
    ])
    assert.deepEqual(invalid, [
      'noequals.example',
      'bad.example=127.0.0.1:0',
      'bad2.example=127.0.0.1:70000',
      'bare6.example=::1',
      'bad3.example=[not-v6]:25',
      'bad4.example=999.1.1.1',
      '=127.0.0.1',
      'bad5.example=127.0.0.1:25:26',
    ])
  })
})
