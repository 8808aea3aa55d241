// The checks' Dns and mailauth's resolver are two views of one front-end:
// on the same [dns] settings a name either of them looked up is asked of the
// DNS server once and kept for both, each reading it in its own shape;
// failures are kept by neither; an uncached view stays uncached.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { makeDns } from '../../plugins/lib/dns/resolver'
import { DnsRegistry } from '../../plugins/lib/dns/registry'
import { FrontEnd } from '../../plugins/lib/dns/front-end'
import { TestDns } from './dns-server'

let dns: TestDns
before(async () => {
  dns = await TestDns.start({
    records: {
      'spf.example': [{ type: 'TXT', data: ['v=spf1 ip4:192.0.2.0/24', ' -all'] }],
      'mx.example': [{ type: 'MX', data: { preference: 10, exchange: 'mail.mx.example' } }],
      'host.example': [{ type: 'A', data: '192.0.2.5' }],
      '5.2.0.192.in-addr.arpa': [{ type: 'PTR', data: 'host.example' }],
    },
    servfail: ['broken.example'],
    silent: ['silent.example'],
  })
})
after(async () => { await dns.stop() })

// One registry for the file, as a process has one: what a test kept, the next finds.
const registry = new DnsRegistry()

const asked = (name: string, type: string): number => dns.queries.filter((q) => q.name === name && q.type === type).length

test('a record a check looked up is not asked again by mailauth, and the other way round', async () => {
  const d = registry.dns([dns.address], 1, 60)
  const r = registry.mailauth([dns.address], 1, 60)
  assert.deepEqual(await d.txt('spf.example'), { status: 'ok', values: ['v=spf1 ip4:192.0.2.0/24 -all'] })
  assert.deepEqual(await r('SPF.example', 'TXT'), [['v=spf1 ip4:192.0.2.0/24', ' -all']])
  assert.equal(asked('spf.example', 'TXT'), 1)
  assert.ok((r.cached?.('spf.example', 'TXT')?.expires ?? 0) > Date.now())

  // mailauth gets node:dns's shape, the check its own
  assert.deepEqual(await r('mx.example', 'MX'), [{ exchange: 'mail.mx.example', priority: 10, type: 'MX' }])
  assert.deepEqual(await d.mx('mx.example'), { status: 'ok', values: [{ exchange: 'mail.mx.example', priority: 10 }] })
  assert.deepEqual(await d.mx('mx.example'), { status: 'ok', values: [{ exchange: 'mail.mx.example', priority: 10 }] })
  assert.equal(asked('mx.example', 'MX'), 1)
})

test('"no such record" is kept for both views, with its code', async () => {
  const d = registry.dns([dns.address], 1, 60)
  const r = registry.mailauth([dns.address], 1, 60)
  assert.deepEqual(await d.txt('nothing.example'), { status: 'none', code: 'ENOTFOUND' })
  await assert.rejects(r('nothing.example', 'TXT'), { code: 'ENOTFOUND', message: 'queryTxt ENOTFOUND nothing.example' })
  assert.deepEqual(await d.a('host.example'), { status: 'ok', values: ['192.0.2.5'] })
  await assert.rejects(r('host.example', 'MX'), { code: 'ENODATA' })
  assert.deepEqual(await d.mx('host.example'), { status: 'none', code: 'ENODATA' })
  assert.equal(asked('nothing.example', 'TXT'), 1)
  assert.equal(asked('host.example', 'MX'), 1)
})

test('a failure is kept by neither view: each asks again', async () => {
  const d = registry.dns([dns.address], 1, 60)
  const r = registry.mailauth([dns.address], 1, 60)
  assert.deepEqual(await d.txt('broken.example'), { status: 'error', code: 'ESERVFAIL' })
  const once = asked('broken.example', 'TXT')
  await assert.rejects(r('broken.example', 'TXT'), { code: 'ESERVFAIL' })
  const twice = asked('broken.example', 'TXT')
  assert.ok(twice > once, `${once} then ${twice}`)
  assert.deepEqual(await d.txt('broken.example'), { status: 'error', code: 'ESERVFAIL' })
  assert.ok(asked('broken.example', 'TXT') > twice)
  assert.equal(r.cached?.('broken.example', 'TXT'), undefined)
})

test('a check\'s list is its own: changing it changes nothing mailauth is given', async () => {
  const d = registry.dns([dns.address], 1, 60)
  const r = registry.mailauth([dns.address], 1, 60)
  const first = await d.a('host.example')
  assert.equal(first.status, 'ok')
  if (first.status === 'ok') first.values.push('192.0.2.99')
  assert.deepEqual(await r('host.example', 'A'), ['192.0.2.5'])
  assert.equal(asked('host.example', 'A'), 1)
})

test('the checks\' PTR lookups are kept by address', async () => {
  const d = registry.dns([dns.address], 1, 60)
  assert.deepEqual(await d.ptr('192.0.2.5'), { status: 'ok', values: ['host.example'] })
  assert.deepEqual(await d.ptr('192.0.2.5'), { status: 'ok', values: ['host.example'] })
  assert.equal(asked('5.2.0.192.in-addr.arpa', 'PTR'), 1)
  await assert.rejects(d.ptr('not an address'))
})

test('uncached views stay uncached, beside a cached one on the same servers', async () => {
  const cached = registry.dns([dns.address], 1, 60)
  const selfTest = registry.dns([dns.address], 1, 60, false)
  const plain = registry.mailauth([dns.address], 1, 0)
  dns.add('fresh.example', { type: 'A', data: '192.0.2.7' })
  await cached.a('fresh.example')
  assert.equal(asked('fresh.example', 'A'), 1)
  await selfTest.a('fresh.example')
  await plain('fresh.example', 'A')
  await plain('fresh.example', 'A')
  assert.equal(asked('fresh.example', 'A'), 4)
  assert.equal(plain.cached?.('fresh.example', 'A'), undefined)
  // and makeDns is a resolver of its own
  await makeDns([dns.address], 1, 60).a('fresh.example')
  assert.equal(asked('fresh.example', 'A'), 5)
})

test('other [dns] settings are another front-end; one a holder left is dropped unless another holds it', () => {
  const a = registry.frontEnd('test-one', [dns.address], 2, 60)
  assert.equal(registry.frontEnd('test-two', [dns.address], 2, 60), a)
  assert.notEqual(registry.frontEnd('test-two', [dns.address], 3, 60), a)
  assert.equal(registry.frontEnd('test-one', [dns.address], 3, 60), registry.frontEnd('test-two', [dns.address], 3, 60))
  // nobody holds the 2 s one now: a new one, with an empty cache
  assert.notEqual(registry.frontEnd('test-one', [dns.address], 2, 60), a)
  assert.equal(new FrontEnd([dns.address], 0.01, 0).timeoutMs, 50)
})

test('no answer within [dns] timeout: a failure in each view\'s own terms, and not kept', async () => {
  const d = registry.dns([dns.address], 0.3, 60)
  const r = registry.mailauth([dns.address], 0.3, 60)
  assert.deepEqual(await d.a('silent.example'), { status: 'error', code: 'ETIMEOUT' })
  await assert.rejects(r('silent.example', 'TXT'), { code: 'ETIMEOUT', message: 'TXT silent.example: no answer within 300 ms' })
  assert.equal(r.cached?.('silent.example', 'TXT'), undefined)
  await d.a('silent.example')
  assert.equal(asked('silent.example', 'A'), 2)
})
