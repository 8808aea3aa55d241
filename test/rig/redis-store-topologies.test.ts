// The Redis counter store on a real Redis Cluster and a real Sentinel set:
// the contract every store keeps, reads across slots, and a store that starts
// while nothing answers and connects once the deployment is there.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as net from 'node:net'
import { CodeCounters } from '../../plugins/lib/codes/counters'
import { RedisStore } from '../../plugins/lib/store/redis'
import { hostPorts, RedisTarget } from '../../plugins/lib/store/redis-target'
import { StoreUnavailable } from '../../plugins/lib/store/types'
import { freePort } from './ports'
import { RedisCluster } from './redis-cluster'
import { RedisSentinelSet } from './redis-sentinel'
import { storeContract } from './store-contract'

const quiet = { logwarn: (): void => undefined, loginfo: (): void => undefined }

async function ready(store: RedisStore): Promise<void> {
  assert.equal(await store.ready(15_000), true, 'redis store never became ready')
}

/** A TCP forwarder on port to target, started later: a seed that answers only from then on. */
function forwarder(port: number, target: number): Promise<net.Server> {
  const server = net.createServer((sock) => {
    const up = net.connect(target, '127.0.0.1')
    sock.pipe(up).pipe(sock)
    const end = (): void => {
      sock.destroy()
      up.destroy()
    }
    sock.on('error', end)
    up.on('error', end)
  })
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)))
}

describe('redis store on a Redis Cluster', () => {
  let cluster: RedisCluster
  const target = (): RedisTarget => ({ kind: 'cluster', nodes: hostPorts(cluster.seeds) })
  before(async () => { cluster = await RedisCluster.start() })
  after(async () => { await cluster.stop() })

  storeContract('redis cluster', async () => {
    await cluster.flushAll()
    const s = new RedisStore(target(), 1000, 30, quiet, new CodeCounters())
    await ready(s)
    return s
  })

  test('reads of one turn go out as one MGET per slot, and each key lands on its own master', async () => {
    await cluster.flushAll()
    const s = new RedisStore(target(), 1000, 30, quiet, new CodeCounters())
    try {
      await ready(s)
      const subjects = Array.from({ length: 12 }, (_, i) => `client-${i}`)
      for (const [i, who] of subjects.entries()) await s.incr(`sc:x:{${who}}:1`, i + 1, 60)
      const got = await Promise.all(subjects.map((who) => s.get([`sc:x:{${who}}:1`, `sc:x:{${who}}:2`])))
      assert.deepEqual(got, subjects.map((_, i) => [i + 1, 0]))
      // Spread over the masters by their tags.
      const masters = new Set(await Promise.all(subjects.map((who) => cluster.masterFor(`sc:x:{${who}}:1`))))
      assert.ok(masters.size >= 2, `keys on ${masters.size} master(s)`)
    } finally {
      await s.close()
    }
  })

  test('a store started while no seed answers fails at once, then connects when one does', async () => {
    const port = await freePort()
    const s = new RedisStore({ kind: 'cluster', nodes: [{ host: '127.0.0.1', port }] }, 500, 30, quiet, new CodeCounters())
    let server: net.Server | undefined
    try {
      await assert.rejects(s.incr('sc:k', 1, 60), StoreUnavailable)
      await new Promise((r) => setTimeout(r, 1000))
      server = await forwarder(port, cluster.ports[0])
      await ready(s)
      await cluster.flushAll()
      assert.equal(await s.incr('sc:k', 1, 60), 1)
    } finally {
      await s.close()
      server?.close()
    }
  })
})

describe('redis store on a Sentinel set', () => {
  let set: RedisSentinelSet
  const target = (): RedisTarget => ({ kind: 'sentinel', nodes: hostPorts(set.sentinels), name: set.name })
  before(async () => { set = await RedisSentinelSet.start() })
  after(async () => { await set.stop() })

  storeContract('redis sentinel', async () => {
    await set.flushAll()
    const s = new RedisStore(target(), 1000, 30, quiet, new CodeCounters())
    await ready(s)
    return s
  })

  test('a store started while no sentinel answers fails at once, then connects when they are back', async () => {
    for (const p of set.sentinelPorts) await set.killNode(p)
    const s = new RedisStore(target(), 500, 30, quiet, new CodeCounters())
    try {
      await assert.rejects(s.incr('sc:k', 1, 60), StoreUnavailable)
      for (const p of set.sentinelPorts) await set.restartNode(p)
      await ready(s)
      await set.flushAll()
      assert.equal(await s.incr('sc:k', 1, 60), 1)
    } finally {
      await s.close()
    }
  })
})
