// The bundle's resolvers keep answers for [dns] cache_ttl, never failures.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { makeDns } from '../../plugins/lib/dns/resolver'
import { DnsRegistry } from '../../plugins/lib/dns/registry'
import { TestDns } from './dns-server'

// One registry for the file, as a process has one.
const registry = new DnsRegistry()

let dns: TestDns
before(async () => {
  dns = await TestDns.start({ records: { 'a.example': [{ type: 'A', data: '192.0.2.1' }], 't.example': [{ type: 'TXT', data: 'v=spf1 -all' }] }, servfail: ['bad.example'] })
})
after(async () => { await dns.stop() })

const asked = (name: string): number => dns.queries.filter((q) => q.name === name).length

test('answers and "none" are kept; failures are asked again', async () => {
  const d = makeDns([dns.address], 1, 60)
  assert.deepEqual(await d.a('a.example'), { status: 'ok', values: ['192.0.2.1'] })
  await d.a('A.example')
  assert.equal(asked('a.example'), 1)
  await d.a('missing.example')
  await d.a('missing.example')
  assert.equal(asked('missing.example'), 1)
  await d.a('bad.example')
  await d.a('bad.example')
  assert.equal(asked('bad.example'), 2)
  const uncached = makeDns([dns.address], 1, 0)
  await uncached.a('a.example')
  assert.equal(asked('a.example'), 2)
})

test('the mailauth resolver keeps answers and "no record", not failures', async () => {
  const r = registry.mailauth([dns.address], 1, 60)
  assert.deepEqual(await r('t.example', 'TXT'), [['v=spf1 -all']])
  await r('t.example', 'TXT')
  assert.equal(asked('t.example'), 1)
  await assert.rejects(r('nothing.example', 'TXT'), { code: 'ENOTFOUND' })
  await assert.rejects(r('nothing.example', 'TXT'), { code: 'ENOTFOUND' })
  assert.equal(asked('nothing.example'), 1)
  await assert.rejects(r('bad.example', 'TXT'), { code: 'ESERVFAIL' })
  await assert.rejects(r('bad.example', 'TXT'), { code: 'ESERVFAIL' })
  assert.equal(asked('bad.example') >= 4, true)
})

test('a server slower than a third of [dns] timeout but within it is waited for', async () => {
  dns.add('slow.example', { type: 'A', data: '192.0.2.9' })
  dns.delay('slow.example', 700)
  const d = makeDns([dns.address], 1.5, 0)
  // Fast answers first: c-ares shortens its tries after them.
  for (let i = 0; i < 5; i++) await d.a('a.example')
  assert.deepEqual(await d.a('slow.example'), { status: 'ok', values: ['192.0.2.9'] })
  const r = registry.mailauth([dns.address], 1.5, 0)
  dns.add('slowtxt.example', { type: 'TXT', data: 'x' })
  dns.delay('slowtxt.example', 700)
  assert.deepEqual(await r('slowtxt.example', 'TXT'), [['x']])
})

// Node 24's c-ares times a query by the server's recent latency once it has
// three answers, and gave up on a slow answer after about 1 s; [dns] timeout
// must hold as configured for every lookup.
test('[dns] timeout holds after a run of fast answers: a 2.5 s answer with timeout=5 resolves', async () => {
  dns.add('fast.example', { type: 'TXT', data: 'fast' })
  dns.add('lag.example', { type: 'TXT', data: 'slow' })
  dns.add('lag.example', { type: 'A', data: '192.0.2.9' })
  dns.delay('lag.example', 2500)
  try {
    const d = makeDns([dns.address], 5, 0)
    const r = registry.mailauth([dns.address], 5, 0)
    for (let i = 0; i < 20; i++) {
      assert.deepEqual(await d.txt('fast.example'), { status: 'ok', values: ['fast'] })
      assert.deepEqual(await r('fast.example', 'TXT'), [['fast']])
    }
    const t0 = Date.now()
    const [bundle, mailauth] = await Promise.all([d.a('lag.example'), r('lag.example', 'TXT')])
    assert.deepEqual(bundle, { status: 'ok', values: ['192.0.2.9'] })
    assert.deepEqual(mailauth, [['slow']])
    const took = Date.now() - t0
    assert.ok(took >= 2400 && took < 4000, `took ${took} ms`)
  } finally {
    dns.delay('lag.example', 0)
  }
})

test('[dns] timeout above 5 s holds too (c-ares caps a try at 5 s unless told otherwise)', async () => {
  dns.add('slower.example', { type: 'TXT', data: 'slower' })
  dns.delay('slower.example', 5600)
  try {
    const r = registry.mailauth([dns.address], 7, 0)
    assert.deepEqual(await r('slower.example', 'TXT'), [['slower']])
  } finally {
    dns.delay('slower.example', 0)
  }
})
