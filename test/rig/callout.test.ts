// The Callout class against the rig's downstream SMTP server: what is never
// sent, and verifyAny's fall-through from one target to the next; and the
// G6/G7/G8/G9 check that reads its answers.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { calloutCheck } from '../../../plugins/lib/checks/callout'
import { freePort } from '../../rig/ports'
import { callout, downstream } from './fixtures'

describe('Callout.verify', () => {
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
