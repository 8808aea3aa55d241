// Slots: per server, per client, and the process's queue, through Callout
// against the rig's downstream SMTP server.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { calloutCheck } from '../../plugins/lib/checks/callout'
import { callout, downstream } from './callout-fixtures'
import { waitFor } from './wait'

describe('Callout limits and fall-through', () => {
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
    await waitFor('slot free', () => c.active === 0)
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
    let hangingEnded = false
    void Promise.race(hanging).then(() => { hangingEnded = true })
    const third = c.verify(target, 'a@example.com', client)
    await waitFor('two dialogues open', () => ds.open === 2)
    assert.equal(c.queued, 1)
    // Another client gets its answer while the first one's callouts still hang.
    assert.equal((await c.verify(target, 'b@example.com', '198.18.0.9')).result, 'valid')
    assert.equal(hangingEnded, false, 'answered before the hanging callouts timed out')
    assert.equal(c.queued, 1)
    const [h1, h2] = await Promise.all(hanging)
    assert.match(h1.reply, /no RCPT TO reply in time/)
    assert.match(h2.reply, /no RCPT TO reply in time/)
    // The third never got a slot before the deadline: it gave up without connecting.
    const got = await third
    assert.deepEqual(got, { result: 'tempfail', reply: `too many callouts for client ${client}` })
    assert.equal(ds.connections, 3)
    assert.equal(c.queued, 0)
    await waitFor('slots free', () => c.active === 0)
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
    let openEnded = false
    void open.then(() => { openEnded = true })
    await waitFor('one dialogue open', () => ds.open === 1)
    const waiting = [c.verify(target, 'b@example.com', '198.18.0.1'), c.verify(target, 'c@example.com', '198.18.0.2')]
    await waitFor('two waiting', () => c.queued === 2)
    const refused = await Promise.all([c.verify(target, 'd@example.com', '198.18.0.3'), c.verify(target, 'e@example.com', '198.18.0.1'), c.verify(target, 'f@example.com')])
    // The open dialogue hangs until the timeout: answered before it ended is answered at once.
    assert.equal(openEnded, false, 'answered at once, not at the timeout')
    assert.equal(c.queued, 2)
    for (const answer of refused) assert.deepEqual(answer, { result: 'tempfail', reply: 'too many callouts waiting (2)' })
    assert.equal(calloutCheck({ rcpt: 'd@example.com', answer: refused[0] })?.id, 'G6')
    assert.equal(ds.connections, 1)
    await Promise.all([open, ...waiting])
    assert.equal(c.queued, 0)
    await waitFor('slots free', () => c.active === 0)
    // Room again once the queue has drained.
    ds.setDefault('250 2.1.5 OK')
    assert.equal((await c.verify(target, 'g@example.com', '198.18.0.3')).result, 'valid')
  })
})
