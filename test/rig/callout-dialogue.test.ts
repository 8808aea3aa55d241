// One SMTP dialogue, through Callout.verify against the rig's downstream SMTP
// server: the commands sent, replies before RCPT TO, deadlines, dropped and
// refused connections.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { freePort } from './ports'
import { callout, downstream, HELO } from './callout-fixtures'
import { waitFor } from './wait'

describe('Callout.verify', () => {
  test('sends EHLO, MAIL FROM:<>, RCPT TO:<x>, QUIT, CRLF-terminated', async (t) => {
    const ds = await downstream(t)
    const c = callout()
    const got = await c.verify({ host: ds.host, port: ds.port }, 'Bob@Example.com')
    assert.deepEqual(got, { result: 'valid', code: 250, reply: '250 2.1.5 OK' })
    await waitFor('QUIT', () => ds.sessions[0]?.commands.length === 4 && ds.open === 0 && c.active === 0)
    assert.deepEqual(ds.sessions[0].commands, [`EHLO ${HELO}`, 'MAIL FROM:<>', 'RCPT TO:<Bob@Example.com>', 'QUIT'])

    const withSender = callout({ sender: 'verify@mx.test' })
    await withSender.verify({ host: ds.host, port: ds.port }, 'bob@example.com')
    await waitFor('QUIT', () => ds.sessions[1]?.commands.length === 4)
    assert.equal(ds.sessions[1].commands[1], 'MAIL FROM:<verify@mx.test>')
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
    await waitFor('every dialogue closed', () => c.active === 0 && ds.open === 0)
  })

  test('a server that never answers RCPT TO: tempfail within timeoutMs, socket gone', async (t) => {
    const ds = await downstream(t, { answers: { 'slow@example.com': 'hang' } })
    const c = callout({ timeoutMs: 300 })
    const started = Date.now()
    const pending = c.verify({ host: ds.host, port: ds.port }, 'slow@example.com')
    await waitFor('the dialogue to open', () => c.active === 1)
    const got = await pending
    const took = Date.now() - started
    assert.equal(got.result, 'tempfail')
    assert.equal(got.code, undefined)
    assert.match(got.reply, /no RCPT TO reply in time/)
    // Not before timeoutMs; the upper bound only says it did not wait for
    // something else, with a second for a loaded machine's late timers.
    assert.ok(took >= 290 && took < 1300, `took ${took} ms`)
    await waitFor('socket closed', () => c.active === 0 && ds.open === 0)
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
    await waitFor('sockets closed', () => silent.open === 0 && dropper.open === 0)
  })

  test('nobody listening: tempfail at once', async () => {
    const port = await freePort()
    const started = Date.now()
    const got = await callout({ timeoutMs: 5000 }).verify({ host: '127.0.0.1', port }, 'x@example.com')
    assert.equal(got.result, 'tempfail')
    assert.match(got.reply, /ECONNREFUSED/)
    assert.ok(Date.now() - started < 1000)
  })
})
