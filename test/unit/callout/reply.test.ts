// The reply parser, through Callout.verify against servers that play a
// script: replies split across packets, garbage, a code changing within a
// reply. The meaning of each RCPT TO answer is tested against the rig's
// downstream server (test/rig/callout-reply.test.ts).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { callout, HELO, scripted } from '../../rig/callout-fixtures'
import { waitFor } from '../../rig/wait'

describe('Callout.verify', () => {
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
    await waitFor('QUIT', () => srv.received.length === 5)
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
