// The reply parser and the meaning of a reply to RCPT TO, through Callout.verify
// against the rig's downstream SMTP server and scripted servers.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { CalloutAnswer } from '../../../plugins/lib/callout/answer'
import { callout, downstream, HELO, scripted, until } from './fixtures'

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
})
