// The meaning of each reply to RCPT TO, through Callout.verify against the
// rig's downstream SMTP server.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { CalloutAnswer } from '../../plugins/lib/callout/answer'
import { callout, downstream } from './callout-fixtures'
import { waitFor } from './wait'

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
    await waitFor('every dialogue closed', () => c.active === 0 && ds.open === 0)
  })
})
