// The memory counter store, held to the contract every store keeps (the
// Redis store is held to it against a real redis-server in
// test/rig/redis-store.test.ts), and how redis.ini is read.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryStore } from '../../../plugins/lib/store/memory'
import { redisTarget } from '../../../plugins/lib/store'
import { slotGroup, tag } from '../../../plugins/lib/store/keys'
import { storeContract } from '../../rig/store-contract'

storeContract('memory', async () => new MemoryStore())

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

test('redis.ini is read as haraka-plugin-redis reads it', () => {
  assert.deepEqual(redisTarget({ server: { host: '10.1.1.1', port: 6380 }, opts: { database: 2, password: 'pw' } }),
    { kind: 'server', host: '10.1.1.1', port: 6380, path: undefined, database: 2, username: undefined, password: 'pw' })
  const t = redisTarget({ server: { socket: '/run/redis.sock' } })
  assert.equal(t.kind === 'server' && t.path, '/run/redis.sock')
  const u = redisTarget({ server: { ip: '10.2.2.2' } })
  assert.equal(u.kind === 'server' && u.host, '10.2.2.2')
  assert.deepEqual(redisTarget(undefined), { kind: 'server', host: undefined, port: undefined, path: undefined, database: undefined, username: undefined, password: undefined })
})

test('redis.ini [cluster] nodes wins over [sentinel], which wins over [server]', () => {
  const bad: string[] = []
  const ini = {
    server: { host: '10.1.1.1' },
    opts: { password: 'pw', database: 3 },
    cluster: { nodes: '10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002,nope,10.0.0.3:99999' },
    sentinel: { nodes: '10.0.0.9:26379', name: 'mymaster', password: 'spw' },
  }
  assert.deepEqual(redisTarget(ini, (m) => bad.push(m)), {
    kind: 'cluster', nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }, { host: '::1', port: 7002 }],
    database: undefined, username: undefined, password: 'pw',
  })
  assert.deepEqual(bad, ['redis.ini [cluster] nodes: "nope" is not host:port; ignored', 'redis.ini [cluster] nodes: "10.0.0.3:99999" is not host:port; ignored'])
  assert.deepEqual(redisTarget({ ...ini, cluster: { nodes: '' } }), {
    kind: 'sentinel', nodes: [{ host: '10.0.0.9', port: 26379 }], name: 'mymaster',
    database: 3, username: undefined, password: 'pw', sentinelUsername: undefined, sentinelPassword: 'spw',
  })
  const noName: string[] = []
  assert.equal(redisTarget({ ...ini, cluster: {}, sentinel: { nodes: '10.0.0.9:26379' } }, (m) => noName.push(m)).kind, 'server')
  assert.deepEqual(noName, ['redis.ini [sentinel] nodes is set but name is not; [server] is used'])
})

test('hash tags: keys read together share a slot; braces in an address cannot move the tag', () => {
  assert.equal(tag('alice@example.com'), '{alice@example.com}')
  assert.equal(tag('a}b{c%d'), '{a%7Db%7Bc%25d}')
  assert.notEqual(tag('a}b'), tag('a%7Db'), 'escaping keeps subjects apart')
  assert.equal(slotGroup(`sc:rate:sender:${tag('x}y@z')}:3600:1`), slotGroup(`sc:rate:sender:${tag('x}y@z')}:3600:2`))
  assert.equal(slotGroup('sc:ip:{192.0.2.1}:accepted:3600:7'), '192.0.2.1')
  assert.equal(slotGroup('plain'), 'plain')
  assert.equal(slotGroup('a{}b'), 'a{}b', 'an empty tag hashes the whole key, as Redis does')
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
  await s.incr('e', 1, 60)
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
