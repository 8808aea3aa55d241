// The counter store, memory and a real Redis, held to the same contract.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryStore } from '../../../plugins/lib/store/memory'
import { RedisStore } from '../../../plugins/lib/store/redis'
import { CounterStore, StoreUnavailable } from '../../../plugins/lib/store/types'
import { redisEndpoint } from '../../../plugins/lib/store'
import { Redis } from '../../rig/redis'

const quiet = { logwarn: (): void => undefined, loginfo: (): void => undefined }

async function ready(store: RedisStore): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await store.get(['x'])
      return
    } catch {
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  throw new Error('redis store never became ready')
}

let redis: Redis
before(async () => { redis = await Redis.start() })
after(async () => { await redis.stop() })

function contract(name: string, make: () => Promise<CounterStore>): void {
  describe(`${name} store`, () => {
    test('incr, decr never below zero, get, setIfAbsent, gauge', async () => {
      const s = await make()
      try {
        assert.equal(await s.incr('k1', 1, 60), 1)
        assert.equal(await s.incr('k1', 2, 60), 3)
        assert.deepEqual(await s.get(['k1', 'missing']), [3, 0])
        assert.equal(await s.decr('k1', 1, 60), 2)
        assert.equal(await s.decr('k1', 5, 60), 0)
        assert.deepEqual(await s.get(['k1']), [0])
        assert.equal(await s.setIfAbsent('first', '100', 60), '100')
        assert.equal(await s.setIfAbsent('first', '200', 60), '100')
        assert.equal(await s.fetch('nothing'), undefined)
        await s.put('cached', 'valid', 60)
        assert.equal(await s.fetch('cached'), 'valid')
        await s.put('cached', 'unknown', 60)
        assert.equal(await s.fetch('cached'), 'unknown')
        assert.equal(await s.gauge('g', 1, 60), 1)
        assert.equal(await s.gauge('g', 1, 60), 2)
        assert.equal(await s.gauge('g', -1, 60), 1)
        assert.equal(await s.gauge('g', -1, 60), 0)
        assert.equal(await s.gauge('g', -1, 60), 0, 'never below zero')
      } finally {
        await s.close()
      }
    })
  })
}

contract('memory', async () => new MemoryStore())
contract('redis', async () => {
  await redis.command('FLUSHALL')
  const s = new RedisStore({ host: '127.0.0.1', port: redis.port }, 500, quiet)
  await ready(s)
  return s
})

test('memory keys expire by themselves', async () => {
  let now = 0
  const s = new MemoryStore(() => now)
  await s.incr('a', 1, 10)
  now = 9_999
  assert.deepEqual(await s.get(['a']), [1])
  now = 10_000
  assert.deepEqual(await s.get(['a']), [0])
  assert.equal(s.size, 0)
  await s.close()
})

test('redis: every key gets a lifetime', async () => {
  await redis.command('FLUSHALL')
  const s = new RedisStore({ host: '127.0.0.1', port: redis.port }, 500, quiet)
  await ready(s)
  await s.incr('sc:a', 1, 120)
  await s.gauge('sc:g', 1, 300)
  await s.setIfAbsent('sc:f', 'x', 60)
  for (const [key, max] of [['sc:a', 120], ['sc:g', 300], ['sc:f', 60]] as const) {
    const ttl = Number(await redis.command('TTL', key))
    assert.ok(ttl > 0 && ttl <= max, `${key} ttl ${ttl}`)
  }
  const alive = (await redis.command('KEYS', 'sc:alive:*')) as string[]
  assert.equal(alive.length, 1)
  assert.ok(Number(await redis.command('TTL', alive[0])) <= 30)
  await s.close()
})

test('redis: a process whose heartbeat lapsed stops counting', async () => {
  await redis.command('FLUSHALL')
  const a = new RedisStore({ host: '127.0.0.1', port: redis.port }, 500, quiet)
  const b = new RedisStore({ host: '127.0.0.1', port: redis.port }, 500, quiet)
  await ready(a)
  await ready(b)
  await a.gauge('sc:g', 1, 300)
  await a.gauge('sc:g', 1, 300)
  assert.equal(await b.gauge('sc:g', 1, 300), 3)
  await a.close()
  await redis.command('DEL', `sc:alive:${a.processId}`)
  assert.equal(await b.gauge('sc:g', 1, 300), 2, 'only b\'s two remain')
  await b.close()
})

test('redis down: operations fail fast, then recover by themselves', async () => {
  const warn: string[] = []
  const info: string[] = []
  const r2 = await Redis.start()
  const s = new RedisStore({ host: '127.0.0.1', port: r2.port }, 300, { logwarn: (m) => warn.push(m), loginfo: (m) => info.push(m) })
  try {
    await ready(s)
    await r2.kill()
    await new Promise((r) => setTimeout(r, 100))
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now()
      await assert.rejects(s.incr('k', 1, 60), StoreUnavailable)
      assert.ok(Date.now() - t0 < 400)
    }
    assert.equal(warn.length, 1, 'said once')
    await r2.restart()
    await ready(s)
    assert.equal(await s.incr('k', 1, 60), 1)
    assert.match(info[0], /is back/)
  } finally {
    await s.close()
    await r2.stop()
  }
})

test('redis.ini is read as haraka-plugin-redis reads it', () => {
  assert.deepEqual(redisEndpoint({ server: { host: '10.1.1.1', port: 6380 }, opts: { database: 2, password: 'pw' } }),
    { host: '10.1.1.1', port: 6380, path: undefined, database: 2, username: undefined, password: 'pw' })
  assert.equal(redisEndpoint({ server: { socket: '/run/redis.sock' } }).path, '/run/redis.sock')
  assert.equal(redisEndpoint({ server: { ip: '10.2.2.2' } }).host, '10.2.2.2')
  assert.deepEqual(redisEndpoint(undefined), { host: undefined, port: undefined, path: undefined, database: undefined, username: undefined, password: undefined })
})

test('memory: past max_keys the least recently used keys go, one per key added', async () => {
  const s = new MemoryStore(() => 0, 3)
  await s.incr('a', 1, 60)
  await s.setIfAbsent('b', 'first', 60)
  await s.put('c', 'valid', 60)
  // a is used again: b is now the least recently used.
  assert.deepEqual(await s.get(['a']), [1])
  await s.incr('d', 1, 60)
  assert.equal(s.held, 3)
  assert.equal(s.evicted, 1)
  assert.equal(await s.fetch('b'), undefined)
  // That read of b added nothing; c is the oldest now.
  assert.equal(s.held, 3)
  await s.gauge('e', 1, 60)
  assert.equal(await s.fetch('c'), undefined)
  assert.deepEqual(await s.get(['a', 'd', 'e']), [1, 1, 1])
  assert.equal(s.evicted, 2)
  // A key that is only counted again (not added) drops nothing.
  await s.incr('a', 1, 60)
  await s.decr('d', 1, 60)
  assert.equal(s.evicted, 2)
  assert.deepEqual(await s.get(['a', 'd', 'e']), [2, 0, 1])
  // d went at zero: room for one more without dropping any.
  await s.incr('f', 1, 60)
  assert.equal(s.evicted, 2)
  assert.deepEqual(await s.get(['a', 'e', 'f']), [2, 1, 1])
  await s.close()
})

test('memory: the sweep drops expired keys a slice at a time, not all in one turn of the event loop', async () => {
  let now = 0
  const s = new MemoryStore(() => now, 100_000)
  for (let i = 0; i < 25_000; i++) await s.incr(`k${i}`, 1, i < 20_000 ? 10 : 100)
  now = 10_000
  s.sweep()
  // At most 10000 keys looked at in this turn, some of them expired.
  assert.ok(s.held >= 15_000 && s.held < 25_000, `held ${s.held}`)
  for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r))
  assert.equal(s.held, 5_000, 'the live ones stay')
  await s.close()
})

test('memory: a large cap spreads the keys over shards, each keeping its share, least recently used first', async () => {
  // 40000 keys: four shards of 10000.
  const s = new MemoryStore(() => 0, 40_000)
  for (let i = 0; i < 60_000; i++) await s.incr(`k${i}`, 1, 60)
  assert.equal(s.held, 40_000)
  assert.equal(s.evicted, 20_000)
  // The newest are all there; the oldest went.
  assert.deepEqual(await s.get(['k59999', 'k59000', 'k50000']), [1, 1, 1])
  assert.deepEqual(await s.get(['k0', 'k1000', 'k9999']), [0, 0, 0])
  await s.close()
})
