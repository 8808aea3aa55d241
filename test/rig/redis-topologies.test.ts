// The rig's distributed Redis deployments, on their own: a 3-master,
// 3-replica Redis Cluster and a 1-master, 2-replica, 3-sentinel set start on
// loopback, take writes, lose their master to SIGKILL, promote a replica and
// take writes again; the killed node comes back as a replica. The failover
// times are printed, not asserted: the product's promise is about what
// Haraka does meanwhile, which the end-to-end tests check.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ClusterNode, RedisCluster } from './redis-cluster'
import { RedisSentinelSet } from './redis-sentinel'

// Generous guards for a loaded 2-core machine; a failover takes 2-3 s here.
const FAILOVER_TIMEOUT_MS = 30_000

const masters = (nodes: ClusterNode[]): ClusterNode[] => nodes.filter((n) => n.role === 'master' && !n.flags.includes('fail'))
const slotCount = (n: ClusterNode): number => (n.slots ?? []).reduce((sum, [a, b]) => sum + b - a + 1, 0)

describe('redis cluster', () => {
  let cluster: RedisCluster
  // A counter key as the store names them: the hash tag picks the slot.
  const key = 'sc:{203.0.113.7}:conn'
  let master: number
  let replica: ClusterNode

  before(async () => {
    cluster = await RedisCluster.start()
  })
  after(async () => {
    await cluster?.stop()
  })

  test('starts with 3 masters and 3 connected replicas covering 16384 slots', async () => {
    const nodes = await cluster.nodes()
    assert.equal(cluster.seeds, cluster.ports.map((p) => `127.0.0.1:${p}`).join(','))
    assert.equal(nodes.length, 6)
    const ms = masters(nodes)
    assert.equal(ms.length, 3)
    assert.deepEqual(ms.map(slotCount).reduce((a, b) => a + b), 16384)
    const replicas = nodes.filter((n) => n.role === 'replica')
    assert.equal(replicas.length, 3)
    // One replica per master, each link up.
    assert.deepEqual(replicas.map((r) => r.masterId).sort(), ms.map((m) => m.id).sort())
    assert.deepEqual(replicas.map((r) => r.link), ['connected', 'connected', 'connected'])
    for (const port of cluster.ports) {
      const info = String(await cluster.command(port, 'CLUSTER', 'INFO'))
      assert.match(info, /^cluster_state:ok\r$/m, `${port}`)
      assert.match(info, /^cluster_slots_ok:16384\r$/m, `${port}`)
      assert.match(info, /^cluster_known_nodes:6\r$/m, `${port}`)
      assert.match(info, /^cluster_size:3\r$/m, `${port}`)
    }
  })

  test('a key written through its master reads back; another master redirects', async () => {
    master = await cluster.masterFor(key)
    const slot = Number(await cluster.command(master, 'CLUSTER', 'KEYSLOT', key))
    assert.equal(await cluster.command(master, 'SET', key, '1'), 'OK')
    assert.equal(await cluster.command(master, 'GET', key), '1')
    const other = masters(await cluster.nodes()).find((n) => n.port !== master)
    assert.ok(other)
    await assert.rejects(cluster.command(other.port, 'GET', key), { message: `redis GET: MOVED ${slot} 127.0.0.1:${master}` })
    assert.deepEqual(await cluster.keys('sc:*'), [key])
  })

  test("killing the key's master promotes its replica; the key's writes land there", async (t) => {
    const nodes = await cluster.nodes()
    const id = nodes.find((n) => n.port === master)?.id
    const r = nodes.find((n) => n.role === 'replica' && n.masterId === id)
    assert.ok(r, `a replica of ${master}`)
    replica = r
    // Acknowledged by the replica before the kill, so it survives.
    assert.equal(await cluster.command(master, 'WAIT', '1', '5000'), 1)
    await cluster.killNode(master)
    const ms = await cluster.waitForFailover(master, FAILOVER_TIMEOUT_MS)
    t.diagnostic(`cluster failover: ${ms} ms from SIGKILL to cluster_state:ok with the replica serving the slots (node timeout 1000 ms)`)
    assert.equal(await cluster.masterFor(key), replica.port)
    assert.equal(await cluster.command(replica.port, 'GET', key), '1')
    assert.equal(await cluster.command(replica.port, 'INCR', key), 2)
    assert.equal(await cluster.command(replica.port, 'GET', key), '2')
    const dead = (await cluster.nodes()).find((n) => n.port === master)
    assert.ok(dead?.flags.includes('fail'), `the killed node is marked failed: ${dead?.flags.join(',')}`)
  })

  test('the killed node restarts and rejoins as a replica of the promoted one', async () => {
    await cluster.restartNode(master)
    const nodes = await cluster.nodes()
    const back = nodes.find((n) => n.port === master)
    assert.equal(back?.role, 'replica')
    assert.equal(back?.masterId, replica.id)
    assert.equal(back?.link, 'connected')
    assert.deepEqual(back?.flags, [])
    assert.equal(masters(nodes).length, 3)
    assert.equal(nodes.filter((n) => n.role === 'replica').length, 3)
    assert.equal(await cluster.masterFor(key), replica.port)
  })

  test('flushAll empties every master', async () => {
    await cluster.flushAll()
    assert.deepEqual(await cluster.keys('*'), [])
  })
})

describe('redis sentinel set', () => {
  let set: RedisSentinelSet
  const key = 'sc:{203.0.113.7}:conn'
  let master: number

  before(async () => {
    set = await RedisSentinelSet.start()
  })
  after(async () => {
    await set?.stop()
  })

  test('starts with 1 master, 2 replicas and 3 sentinels that know each other', async () => {
    assert.equal(set.name, 'mymaster')
    assert.equal(set.sentinels, set.sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','))
    assert.equal(set.sentinelPorts.length, 3)
    master = await set.master()
    assert.equal(master, set.serverPorts[0])
    const role = await set.command(master, 'ROLE')
    assert.ok(Array.isArray(role) && Array.isArray(role[2]))
    assert.equal(role[0], 'master')
    assert.deepEqual(role[2].map((r) => (Array.isArray(r) ? Number(r[1]) : 0)).sort(), set.serverPorts.slice(1).sort())
    for (const s of set.sentinelPorts) {
      assert.deepEqual(await set.command(s, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster'), ['127.0.0.1', String(master)])
      const replicas = await set.command(s, 'SENTINEL', 'REPLICAS', 'mymaster')
      const others = await set.command(s, 'SENTINEL', 'SENTINELS', 'mymaster')
      assert.equal(Array.isArray(replicas) && replicas.length, 2, `sentinel ${s} replicas`)
      assert.equal(Array.isArray(others) && others.length, 2, `sentinel ${s} other sentinels`)
    }
  })

  test('a write through the master reads back on both replicas', async () => {
    assert.equal(await set.command(master, 'SET', key, '1'), 'OK')
    assert.equal(await set.command(master, 'WAIT', '2', '5000'), 2)
    for (const port of set.serverPorts.slice(1)) assert.equal(await set.command(port, 'GET', key), '1')
    assert.deepEqual(await set.keys('sc:*'), [key])
  })

  test('killing the master: the sentinels name a replica, and writes land on it', async (t) => {
    await set.killNode(master)
    const ms = await set.waitForFailover(master, FAILOVER_TIMEOUT_MS)
    t.diagnostic(`sentinel failover: ${ms} ms from SIGKILL until every sentinel names a new master that takes writes (down-after 1000 ms)`)
    const promoted = await set.master()
    assert.notEqual(promoted, master)
    assert.ok(set.serverPorts.slice(1).includes(promoted), `${promoted} is one of the replicas`)
    for (const s of set.sentinelPorts) {
      assert.deepEqual(await set.command(s, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster'), ['127.0.0.1', String(promoted)])
    }
    assert.equal(await set.command(promoted, 'GET', key), '1')
    assert.equal(await set.command(promoted, 'INCR', key), 2)
    assert.deepEqual(await set.keys('sc:*'), [key])
  })

  test('the old master restarts as a replica of the new one', async () => {
    await set.restartNode(master)
    // The master the sentinels name now (on a loaded machine they may have
    // moved it once more meanwhile), never the old one.
    const current = await set.master()
    assert.notEqual(current, master)
    const role = await set.command(master, 'ROLE')
    assert.ok(Array.isArray(role))
    assert.deepEqual(role.slice(0, 4), ['slave', '127.0.0.1', current, 'connected'])
    // It synced from the new master (it came back empty: no persistence).
    assert.equal(await set.command(master, 'GET', key), '2')
  })

  test('flushAll empties the master', async () => {
    await set.flushAll()
    assert.deepEqual(await set.keys('*'), [])
  })
})
