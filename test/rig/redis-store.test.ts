// The Redis counter store against a real redis-server: the contract every
// store keeps, key lifetimes, heartbeats, and Redis going away and coming back.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { CodeCounters } from '../../plugins/lib/codes/counters'
import { RedisStore } from '../../plugins/lib/store/redis'
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

storeContract('redis', async () => {
  await redis.command('FLUSHALL')
  const s = new RedisStore({ host: '127.0.0.1', port: redis.port }, 500, quiet, new CodeCounters())
  await ready(s)
  return s
})

test('redis: every key gets a lifetime', async () => {
  await redis.command('FLUSHALL')
  const s = new RedisStore({ host: '127.0.0.1', port: redis.port }, 500, quiet, new CodeCounters())
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
  const a = new RedisStore({ host: '127.0.0.1', port: redis.port }, 500, quiet, new CodeCounters())
  const b = new RedisStore({ host: '127.0.0.1', port: redis.port }, 500, quiet, new CodeCounters())
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
  const counters = new CodeCounters()
  const s = new RedisStore({ host: '127.0.0.1', port: r2.port }, 300, { logwarn: (m) => warn.push(m), loginfo: (m) => info.push(m) }, counters)
  try {
    await ready(s)
    await r2.kill()
    await waitFor('the store to see Redis gone', () => warn.length > 0)
    // Fail fast: refused at once for want of a connection, never queued to
    // wait out the 300 ms command timeout (which says "did not answer").
    for (let i = 0; i < 3; i++) {
      await assert.rejects(s.incr('k', 1, 60), (err: Error) => err instanceof StoreUnavailable && err.message === 'redis is not connected')
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
