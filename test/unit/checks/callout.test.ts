// The G6/G7/G8/G9 check: a callout's answer to the catalog id it stands for.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { calloutCheck } from '../../../plugins/lib/checks/callout'

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
