// The SMTP client and the downstream server, tested against each other and
// against scripted loopback servers that show the bytes on the wire.
import { test } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import * as net from 'node:net'
import { SmtpClient, sendMail, message, encodeBody } from './smtp-client'
import { Downstream } from './downstream'
import { freePort } from './ports'
import { waitFor } from './wait'

interface Tiny {
  port: number
  // Every byte the server received, per connection.
  received: string[]
}

// A plain loopback server run by the test's own script, stopped after the test.
async function tiny(t: TestContext, onConnection: (socket: net.Socket, received: () => string) => void): Promise<Tiny> {
  const sockets = new Set<net.Socket>()
  const result: Tiny = { port: 0, received: [] }
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    const index = result.received.push('') - 1
    socket.on('data', (chunk: Buffer) => {
      result.received[index] += chunk.toString('latin1')
    })
    onConnection(socket, () => result.received[index])
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  result.port = typeof addr === 'object' && addr ? addr.port : 0
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  )
  return result
}

async function downstream(t: TestContext, opts?: Parameters<typeof Downstream.start>[0]): Promise<Downstream> {
  const ds = await Downstream.start(opts)
  t.after(() => ds.stop())
  return ds
}

async function connect(t: TestContext, opts: Parameters<typeof SmtpClient.connect>[0]): Promise<SmtpClient> {
  const c = await SmtpClient.connect(opts)
  t.after(() => c.close())
  return c
}

test('a multi-line EHLO reply is parsed into its lines', async (t) => {
  const ds = await downstream(t)
  const c = await connect(t, { port: ds.port })
  assert.deepEqual(c.greeting, { code: 220, lines: ['220 downstream.test ESMTP'], text: '220 downstream.test ESMTP' })
  const r = await c.ehlo('client.test')
  assert.equal(r.code, 250)
  assert.deepEqual(r.lines, ['250-downstream.test Hello client.test', '250-PIPELINING', '250-8BITMIME', '250 ENHANCEDSTATUSCODES'])
  assert.equal(r.text, r.lines.join('\n'))
  assert.deepEqual(await c.quit(), { code: 221, lines: ['221 2.0.0 Bye'], text: '221 2.0.0 Bye' })
  await c.closed
})

test('raw holds the bytes verbatim, replies split across packets are reassembled', async (t) => {
  const srv = await tiny(t, (socket, received) => {
    socket.write('220 tiny.test ESMTP\r\n')
    socket.on('data', () => {
      if (!received().endsWith('EHLO a.test\r\n')) return
      // Split inside a line and inside the CRLF.
      socket.write('250-tiny.test gre')
      setTimeout(() => socket.write('ets you\r'), 20)
      setTimeout(() => socket.write('\n250 SIZE 1000\r\n'), 40)
    })
  })
  const c = await connect(t, { port: srv.port })
  const r = await c.ehlo('a.test')
  assert.deepEqual(r.lines, ['250-tiny.test greets you', '250 SIZE 1000'])
  assert.equal(c.raw, '220 tiny.test ESMTP\r\n250-tiny.test greets you\r\n250 SIZE 1000\r\n')
  assert.equal(srv.received[0], 'EHLO a.test\r\n')
})

test('replies that arrive together are queued in order', async (t) => {
  const srv = await tiny(t, (socket) => {
    socket.write('220 hi\r\n250 one\r\n250-two\r\n250 two end\r\n')
  })
  const c = await connect(t, { port: srv.port })
  assert.equal(c.greeting.text, '220 hi')
  assert.equal((await c.readReply()).text, '250 one')
  assert.equal((await c.readReply()).text, '250-two\n250 two end')
})

for (const [name, from, to, expected] of [
  ['IPv4', '198.18.0.7', undefined, 'PROXY TCP4 198.18.0.7 127.0.0.1 40000 25\r\n'],
  ['IPv6', '2001:db8::7', undefined, 'PROXY TCP6 2001:db8::7 ::1 40000 25\r\n'],
  ['IPv4 with proxyTo', '203.0.113.9', '192.0.2.25', 'PROXY TCP4 203.0.113.9 192.0.2.25 40000 25\r\n'],
] as const) {
  test(`the PROXY header for ${name} is sent first, before the greeting`, async (t) => {
    // The greeting is held back until the header is in, as a PROXY-aware server does.
    const srv = await tiny(t, (socket, received) => {
      socket.on('data', () => {
        if (received().includes('\r\n') && !socket.writableEnded) socket.end('220 ok\r\n')
      })
    })
    const c = await connect(t, { port: srv.port, proxyFrom: from, proxyTo: to })
    assert.equal(c.greeting.text, '220 ok')
    assert.equal(srv.received[0], expected)
  })
}

test('each downstream answer reaches the client exactly', async (t) => {
  const ds = await downstream(t, {
    answers: {
      'ok@dest.test': '250 2.1.5 OK',
      'nouser@dest.test': '550 5.1.1 No such user',
      'refused@dest.test': '554 5.7.1 Refused',
    },
  })
  ds.answer('Later@Dest.Test', '450 4.2.0 Try later')
  const c = await connect(t, { port: ds.port })
  await c.ehlo()
  assert.equal((await c.send('MAIL FROM:<s@src.test>')).text, '250 2.1.0 OK')
  assert.equal((await c.send('RCPT TO:<ok@dest.test>')).text, '250 2.1.5 OK')
  assert.equal((await c.send('RCPT TO:<NoUser@dest.test>')).text, '550 5.1.1 No such user')
  assert.equal((await c.send('RCPT TO:<refused@dest.test>')).text, '554 5.7.1 Refused')
  const later = await c.send('RCPT TO:<later@dest.test>')
  assert.equal(later.code, 450)
  assert.equal(later.text, '450 4.2.0 Try later')
  assert.equal((await c.send('RCPT TO:<other@dest.test>')).text, '250 2.1.5 OK')
  ds.setDefault('550 5.1.1 Unknown')
  assert.equal((await c.send('RCPT TO:<other@dest.test>')).text, '550 5.1.1 Unknown')
})

test("a 'hang' answer makes the client time out naming the command", async (t) => {
  const ds = await downstream(t, { answers: { 'slow@dest.test': 'hang' } })
  const c = await connect(t, { port: ds.port, timeoutMs: 300 })
  await c.ehlo()
  await c.send('MAIL FROM:<s@src.test>')
  const started = Date.now()
  await assert.rejects(c.send('RCPT TO:<slow@dest.test>'), /timed out after 300 ms waiting for the reply to "RCPT TO:<slow@dest.test>"/)
  assert.ok(Date.now() - started >= 250)
  // Still connected: the server only went silent.
  assert.equal(ds.open, 1)
})

test("a 'close' answer drops the connection and the awaited reply rejects", async (t) => {
  const ds = await downstream(t, { answers: { 'drop@dest.test': 'close' } })
  const c = await connect(t, { port: ds.port })
  await c.ehlo()
  await c.send('MAIL FROM:<s@src.test>')
  await assert.rejects(c.send('RCPT TO:<drop@dest.test>'), /connection closed by the server while waiting for the reply to "RCPT TO:<drop@dest.test>"/)
  await c.closed
  await assert.rejects(c.send('NOOP'), /closed by the server/)
  assert.equal(await c.quit(), null)
})

test('a complete reply that came before the close is still delivered', async (t) => {
  const srv = await tiny(t, (socket) => socket.end('421 4.3.2 Shutting down\r\n'))
  const c = await connect(t, { port: srv.port })
  assert.equal(c.greeting.code, 421)
  await c.closed
  await assert.rejects(c.readReply(), /closed by the server/)
})

test('the greeting answers of the downstream server', async (t) => {
  const ds = await downstream(t, { greeting: '554 5.7.1 Go away' })
  const c = await connect(t, { port: ds.port })
  assert.equal(c.greeting.text, '554 5.7.1 Go away')
  ds.setGreeting('close')
  await assert.rejects(SmtpClient.connect({ port: ds.port }), /closed by the server while waiting for the reply to \(greeting\)/)
  ds.setGreeting('hang')
  await assert.rejects(SmtpClient.connect({ port: ds.port, timeoutMs: 200 }), /timed out after 200 ms waiting for the reply to \(greeting\)/)
  await waitFor('the hung greeting connection to close', () => ds.open === 1)
  assert.equal(ds.connections, 3)
})

test('a refused connection rejects connect', async () => {
  const port = await freePort()
  await assert.rejects(SmtpClient.connect({ port }), /ECONNREFUSED/)
})

test('DATA dot-stuffs lines starting with "." and normalises line ends', async (t) => {
  const srv = await tiny(t, (socket, received) => {
    socket.write('220 tiny\r\n')
    socket.on('data', () => {
      const r = received()
      if (r === 'DATA\r\n') socket.write('354 go\r\n')
      else if (r.endsWith('\r\n.\r\n')) socket.write('250 queued\r\n')
    })
  })
  const c = await connect(t, { port: srv.port })
  const r = await c.data('Subject: x\n\n.hidden\n..two\r\nlast\rline')
  assert.equal(r.text, '250 queued')
  assert.equal(srv.received[0], 'DATA\r\nSubject: x\r\n\r\n..hidden\r\n...two\r\nlast\r\nline\r\n.\r\n')
})

test('DATA returns a refusal of DATA itself without sending the body', async (t) => {
  const srv = await tiny(t, (socket) => {
    socket.write('220 tiny\r\n')
    socket.on('data', () => socket.write('503 5.5.1 No recipients\r\n'))
  })
  const c = await connect(t, { port: srv.port })
  assert.equal((await c.data('body\n')).text, '503 5.5.1 No recipients')
  assert.equal(srv.received[0], 'DATA\r\n')
})

test('encodeBody keeps binary bytes and ends an empty body with the dot line', () => {
  assert.deepEqual(encodeBody(Buffer.from([0xff, 0x0a, 0x2e, 0x80])), Buffer.from([0xff, 0x0d, 0x0a, 0x2e, 0x2e, 0x80, 0x0d, 0x0a, 0x2e, 0x0d, 0x0a]))
  assert.equal(encodeBody('').toString(), '.\r\n')
  assert.equal(encodeBody('a\r\n').toString(), 'a\r\n.\r\n')
})

test('the downstream server takes a message and undoes dot-stuffing', async (t) => {
  const ds = await downstream(t)
  const msg = message({ from: 'a@src.test', to: 'b@dest.test', body: '.starts with a dot\nplain\n' })
  const res = await sendMail({ port: ds.port, from: 'a@src.test', to: ['b@dest.test'], message: msg })
  assert.equal(res.data?.text, '250 2.0.0 Queued')
  assert.deepEqual(ds.sessions[0].messages, [msg])
})

test('sendMail stops after a refused MAIL', async (t) => {
  const ds = await downstream(t, { mailFrom: '550 5.7.1 Sender refused' })
  const res = await sendMail({ port: ds.port, helo: 'mx.src.test', from: 'bad@src.test', to: ['b@dest.test'], message: message({}) })
  assert.equal(res.greeting.code, 220)
  assert.equal(res.ehlo.code, 250)
  assert.equal(res.mail.text, '550 5.7.1 Sender refused')
  assert.deepEqual(res.rcpts, [])
  assert.equal(res.data, undefined)
  assert.deepEqual(ds.sessions[0].commands, ['EHLO mx.src.test', 'MAIL FROM:<bad@src.test>', 'QUIT'])
})

test('sendMail skips DATA when every recipient is refused', async (t) => {
  const ds = await downstream(t, { default: '550 5.1.1 No such user' })
  const res = await sendMail({ port: ds.port, from: 'a@src.test', to: ['x@dest.test', 'y@dest.test'], message: message({}) })
  assert.deepEqual(
    res.rcpts.map((r) => r.code),
    [550, 550],
  )
  assert.equal(res.data, undefined)
  assert.deepEqual(ds.sessions[0].commands.at(-1), 'QUIT')
  assert.deepEqual(ds.sessions[0].messages, [])
})

test('the sessions record what each connection sent', async (t) => {
  const ds = await downstream(t, { answers: { 'no@dest.test': '550 5.1.1 No such user' } })
  await sendMail({ port: ds.port, helo: 'one.test', from: 'a@src.test', to: ['no@dest.test', 'yes@dest.test'], message: message({}) })
  const c = await connect(t, { port: ds.port })
  assert.equal((await c.send('HELO two.test')).text, '250 downstream.test')
  await c.send('MAIL FROM:<> SIZE=10')
  await c.send('RCPT TO:<Z@Dest.Test>')
  assert.equal((await c.send('RSET')).text, '250 2.0.0 OK')
  assert.equal((await c.send('VRFY z')).text, '500 5.5.1 Command unrecognized')
  await c.quit()
  await c.closed
  assert.equal(ds.connections, 2)
  assert.equal(ds.sessions.length, 2)
  const [one, two] = ds.sessions
  assert.equal(one.helo, 'one.test')
  assert.equal(one.mailFrom, 'a@src.test')
  assert.deepEqual(one.rcpts, ['no@dest.test', 'yes@dest.test'])
  assert.deepEqual(one.commands, ['EHLO one.test', 'MAIL FROM:<a@src.test>', 'RCPT TO:<no@dest.test>', 'RCPT TO:<yes@dest.test>', 'DATA', 'QUIT'])
  assert.equal(two.helo, 'two.test')
  assert.equal(two.mailFrom, '')
  assert.deepEqual(two.rcpts, ['Z@Dest.Test'])
  assert.deepEqual(two.commands, ['HELO two.test', 'MAIL FROM:<> SIZE=10', 'RCPT TO:<Z@Dest.Test>', 'RSET', 'VRFY z', 'QUIT'])
})

test('the downstream server answers pipelined commands and waits for partial lines', async (t) => {
  const ds = await downstream(t, { answers: { 'no@dest.test': '550 5.1.1 No such user' } })
  const c = await connect(t, { port: ds.port })
  c.sendRaw('EHLO p.test\r\nMAIL FROM:<a@src.test>\r\nRCPT TO:<no@dest.test>\r\nRCPT TO:<ok@dest.test>\r\nNO')
  assert.equal((await c.readReply()).code, 250)
  assert.equal((await c.readReply()).text, '250 2.1.0 OK')
  assert.equal((await c.readReply()).text, '550 5.1.1 No such user')
  assert.equal((await c.readReply()).text, '250 2.1.5 OK')
  c.sendRaw('OP\r')
  c.sendRaw('\n')
  assert.equal((await c.readReply()).text, '250 2.0.0 OK')
  assert.deepEqual(ds.sessions[0].commands.at(-1), 'NOOP')
})

test('open counts live connections and stop closes them', async (t) => {
  const ds = await downstream(t)
  const a = await connect(t, { port: ds.port })
  const b = await connect(t, { port: ds.port })
  await waitFor('two open connections', () => ds.open === 2)
  b.reset()
  await waitFor('the reset connection to close', () => ds.open === 1)
  assert.equal(ds.connections, 2)
  await ds.stop()
  await a.closed
  assert.equal(ds.open, 0)
  await ds.stop()
})

test('message builds a valid RFC 5322 message', () => {
  const m = message({ from: 'a@src.test', to: 'b@dest.test', subject: 'Hi', body: 'one\ntwo\n', headers: [['X-Test', '1']] })
  const [head, body] = m.split('\r\n\r\n')
  assert.equal(body, 'one\r\ntwo\r\n')
  const lines = head.split('\r\n')
  assert.deepEqual(lines.slice(0, 3), ['From: <a@src.test>', 'To: <b@dest.test>', 'Subject: Hi'])
  assert.match(lines[3], /^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d \+0000$/)
  assert.match(lines[4], /^Message-ID: <[0-9a-f]{16}\.\d+@src\.test>$/)
  assert.equal(lines[5], 'X-Test: 1')
  assert.ok(!/(^|[^\r])\n/.test(m), 'bare LF')
  const replaced = message({ headers: { Subject: 'Other', date: 'Thu, 01 Jan 2015 00:00:00 +0000' } })
  assert.doesNotMatch(replaced, /Subject: Test message/)
  assert.match(replaced, /\r\nSubject: Other\r\ndate: Thu, 01 Jan 2015 00:00:00 \+0000\r\n\r\n/)
})
