// The Redis counter store against a real redis-server: the contract every
// store keeps, key lifetimes, connection members that lapse when their
// process stops renewing them, and Redis going away and coming back.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { CodeCounters } from '../../plugins/lib/codes/counters'
import { RedisStore } from '../../plugins/lib/store/redis'
import { RedisTarget } from '../../plugins/lib/store/redis-target'
import { StoreUnavailable } from '../../plugins/lib/store/types'
import { Redis } from './redis'
import { storeContract } from './store-contract'
import { waitFor } from './wait'

const quiet = { logwarn: (): void => undefined, loginfo: (): void => undefined }

// The client connects in the background; a test starts once it is ready.
async function ready(store: RedisStore): Promise<void> {
  assert.equal(await store.ready(10_000), true, 'redis store never became ready')
}

let redis: Redis
before(async () => { redis = await Redis.start() })
after(async () => { await redis.stop() })

const at = (port: number): RedisTarget => ({ kind: 'server', host: '127.0.0.1', port })
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

storeContract('redis', async () => {
  await redis.command('FLUSHALL')
  const s = new RedisStore(at(redis.port), 500, 30, quiet, new CodeCounters())
  await ready(s)
  return s
})

test('redis: every key gets a lifetime', async () => {
  await redis.command('FLUSHALL')
  const s = new RedisStore(at(redis.port), 500, 30, quiet, new CodeCounters())
  await ready(s)
  await s.incr('sc:a', 1, 120)
  await s.join('sc:g', 'conn-1')
  await s.setIfAbsent('sc:f', 'x', 60)
  for (const [key, max] of [['sc:a', 120], ['sc:g', 30], ['sc:f', 60]] as const) {
    const ttl = Number(await redis.command('TTL', key))
    assert.ok(ttl > 0 && ttl <= max, `${key} ttl ${ttl}`)
  }
  // One member per connection, named by its process.
  assert.deepEqual(await redis.command('ZRANGE', 'sc:g', '0', '-1'), [`${s.processId}|conn-1`])
  await s.leave('sc:g', 'conn-1')
  assert.equal(await redis.command('EXISTS', 'sc:g'), 0, 'the last member gone, the key goes')
  await s.close()
})

test('redis: a process renews its members; one that stopped renewing stops counting within its heartbeat', async () => {
  await redis.command('FLUSHALL')
  const a = new RedisStore(at(redis.port), 500, 2, quiet, new CodeCounters())
  const b = new RedisStore(at(redis.port), 500, 2, quiet, new CodeCounters())
  await ready(a)
  await ready(b)
  await a.join('sc:g', 'a1')
  await a.join('sc:g', 'a2')
  assert.equal(await b.join('sc:g', 'b1'), 3)
  // Past the 2 s lifetime, renewed meanwhile: all still counted.
  await sleep(3000)
  assert.equal(await b.join('sc:g', 'b1'), 3)
  // a dies with its two connections open: they lapse by themselves.
  await a.close()
  const left = Date.now()
  await waitFor('a\'s members to lapse', async () => (await b.join('sc:g', 'b1')) === 1, 10_000)
  assert.ok(Date.now() - left <= 2000 + 1500, `lapsed after ${Date.now() - left} ms`)
  await b.close()
})

test('redis: a join that timed out at the client but landed is taken back by the leave', async () => {
  await redis.command('FLUSHALL')
  const s = new RedisStore(at(redis.port), 100, 30, quiet, new CodeCounters())
  await ready(s)
  // Writes wait 600 ms in Redis: the join times out here, then lands.
  await redis.command('CLIENT', 'PAUSE', '600', 'WRITE')
  await assert.rejects(s.join('sc:g', 'late'), StoreUnavailable)
  await s.leave('sc:g', 'late').catch(() => undefined)
  await waitFor('the pause to end', async () => (await redis.command('EXISTS', 'sc:g')) === 0 && (await redis.command('PING')) === 'PONG', 5000)
  await sleep(200)
  assert.equal(await redis.command('EXISTS', 'sc:g'), 0, 'nothing left counted')
  await s.close()
})

test('redis: a leave sent while the join waits to resend its script is not undone', async () => {
  await redis.command('FLUSHALL')
  const s = new RedisStore(at(redis.port), 500, 30, quiet, new CodeCounters())
  await ready(s)
  await redis.command('SCRIPT', 'FLUSH')
  // The join's EVALSHA meets NOSCRIPT; the leave goes out before the script is sent again.
  const joined = s.join('sc:g', 'quick')
  await s.leave('sc:g', 'quick')
  assert.equal(await joined, 0, 'the connection had left: nothing joined')
  assert.equal(await redis.command('EXISTS', 'sc:g'), 0, 'nothing left counted')
  // A join that stays is sent again with its script.
  assert.equal(await s.join('sc:g', 'stays'), 1)
  await s.close()
})

test('redis: reads of one turn go out as one MGET', async () => {
  await redis.command('FLUSHALL')
  const s = new RedisStore(at(redis.port), 500, 30, quiet, new CodeCounters())
  await ready(s)
  await s.incr('sc:x:{a}:1', 2, 60)
  await s.incr('sc:x:{b}:1', 3, 60)
  await redis.command('CONFIG', 'RESETSTAT')
  const [one, two, three] = await Promise.all([s.get(['sc:x:{a}:1', 'sc:x:{a}:2']), s.get(['sc:x:{b}:1']), s.get(['sc:x:{a}:1'])])
  assert.deepEqual([one, two, three], [[2, 0], [3], [2]])
  const stats = String(await redis.command('INFO', 'commandstats'))
  assert.match(stats, /cmdstat_mget:calls=1,/)
  await s.close()
})

test('redis down: operations fail fast, then recover by themselves', async () => {
  const warn: string[] = []
  const info: string[] = []
  const r2 = await Redis.start()
  const counters = new CodeCounters()
  const s = new RedisStore(at(r2.port), 300, 30, { logwarn: (m) => warn.push(m), loginfo: (m) => info.push(m) }, counters)
  try {
    await ready(s)
    await r2.kill()
    await waitFor('the store to see Redis gone', () => warn.length > 0)
    // Fail fast: refused at once for want of a connection, never queued to
    // wait out the 300 ms command timeout (which says "no answer").
    for (let i = 0; i < 3; i++) {
      await assert.rejects(s.incr('k', 1, 60), (err: Error) => err instanceof StoreUnavailable && /^redis 127\.0\.0\.1:\d+: not connected/.test(err.message))
    }
    assert.equal(warn.length, 1, 'said once')
    // Each refused operation let mail through: counted in the counters it was given.
    assert.deepEqual(counters.failOpenCounts(), { store: 3 })
    await r2.restart()
    await ready(s)
    assert.equal(await s.incr('k', 1, 60), 1)
    assert.equal(info[0], `redis 127.0.0.1:${r2.port} is back; checks that count use it again (3 store operation(s) let mail through meanwhile) [fail-open store #3]`)
  } finally {
    await s.close()
    await r2.stop()
  }
})

test('redis: past 10,000 commands unanswered, more fail at once instead of piling up', async () => {
  await redis.command('FLUSHALL')
  const counters = new CodeCounters()
  const s = new RedisStore(at(redis.port), 5000, 30, quiet, counters)
  await ready(s)
  await redis.command('CLIENT', 'PAUSE', '1500', 'ALL')
  const held = Array.from({ length: 10_000 }, (_, i) => s.incr(`sc:k:${i % 10}`, 1, 60))
  await assert.rejects(s.incr('sc:one-more', 1, 60), (err: Error) => err instanceof StoreUnavailable && /10000 commands unanswered/.test(err.message))
  assert.deepEqual(counters.failOpenCounts(), { store: 1 })
  // The held ones are answered when Redis is back, and the store works again.
  const done = await Promise.all(held)
  assert.equal(done.length, 10_000)
  assert.equal(await s.incr('sc:one-more', 1, 60), 1)
  await s.close()
})

test('redis: a store replaced by a reload keeps renewing the connections it counts until they leave, then closes', async () => {
  await redis.command('FLUSHALL')
  const old = new RedisStore(at(redis.port), 500, 2, quiet, new CodeCounters())
  await ready(old)
  await old.join('sc:g', 'long-lived')
  old.retire()
  // Past the 2 s heartbeat: still counted, since the old store still renews it.
  await sleep(3000)
  assert.deepEqual(await redis.command('ZCARD', 'sc:g'), 1)
  await old.leave('sc:g', 'long-lived')
  assert.equal(await redis.command('EXISTS', 'sc:g'), 0)
  // Then it closes by itself (after the operations under way had 5 s).
  await waitFor('the retired store to close', async () => {
    try {
      await old.incr('sc:after', 1, 60)
      return false
    } catch (err) {
      return err instanceof StoreUnavailable
    }
  }, 15_000, 250)
})
