// The Callout class against the rig's downstream SMTP server: what is never
// sent, and verifyAny's fall-through from one target to the next.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { freePort } from './ports'
import { callout, downstream } from './callout-fixtures'

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
