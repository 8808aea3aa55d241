// SPF results and DMARC answers are kept across messages only as long as
// the DNS answers they were built on, and never when a lookup failed: the
// facts are those a fresh evaluation on the same answers gives.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { TestDns } from './dns-server'
import { AuthInput, authenticate } from '../../plugins/lib/auth/authenticate'
import { messageResolver } from '../../plugins/lib/dns/mailauth'
import { DnsRegistry } from '../../plugins/lib/dns/registry'

let dns: TestDns
before(async () => {
  dns = await TestDns.start({
    records: {
      'cached.example': [{ type: 'TXT', data: 'v=spf1 ip4:198.51.100.0/24 -all' }],
      '_dmarc.cached.example': [{ type: 'TXT', data: 'v=DMARC1; p=reject' }],
      'flaky.example': [{ type: 'TXT', data: 'v=spf1 ip4:198.51.100.0/24 -all' }],
      'checked.example': [{ type: 'TXT', data: 'v=spf1 ip4:198.51.100.0/24 -all' }],
      '_dmarc.checked.example': [{ type: 'TXT', data: 'v=DMARC1; p=none' }],
    },
  })
})
after(async () => { await dns.stop() })

// One registry for the file, as a process has one: the checks' Dns and
// mailauth's resolver on one front-end, and what a test kept the next finds.
const registry = new DnsRegistry()

const RAW = Buffer.from('From: <a@cached.example>\r\nSubject: x\r\n\r\nhi\r\n')

function input(over: Partial<AuthInput>): AuthInput {
  return { raw: RAW, ip: '198.51.100.7', helo: 'client.test', mailFrom: 'a@cached.example', mta: 'mx.test', resolver: registry.mailauth([dns.address], 1, 60), ...over }
}

test('a repeat message is answered from the kept results, with the same facts', async () => {
  const resolver = registry.mailauth([dns.address], 1, 60)
  const first = await authenticate(input({ resolver }))
  dns.queries = []
  const second = await authenticate(input({ resolver }))
  assert.deepEqual({ ...second, lookups: undefined }, { ...first, lookups: undefined })
  assert.deepEqual(second.lookups, { count: 0, max: Infinity, refused: 0 })
  assert.equal(first.spf.result, 'pass')
  assert.equal(first.dmarc?.result, 'pass')
  assert.equal(dns.queries.length, 0)
  // another client address is another question
  const other = await authenticate(input({ resolver, ip: '203.0.113.5' }))
  assert.equal(other.spf.result, 'fail')
  assert.equal(other.dmarc?.result, 'fail')
})

test('without a DNS cache nothing is kept, so a changed record is seen at once', async () => {
  const resolver = registry.mailauth([dns.address], 1, 0)
  assert.equal((await authenticate(input({ resolver }))).dmarc?.policy, 'reject')
  dns.set('_dmarc.cached.example', [{ type: 'TXT', data: 'v=DMARC1; p=quarantine' }])
  try {
    const again = await authenticate(input({ resolver, ip: '203.0.113.5' }))
    assert.equal(again.dmarc?.policy, 'quarantine')
  } finally {
    dns.set('_dmarc.cached.example', [{ type: 'TXT', data: 'v=DMARC1; p=reject' }])
  }
})

test('a result built on a failed lookup is not kept', async () => {
  const resolver = registry.mailauth([dns.address], 1, 60)
  dns.servfail('flaky.example')
  try {
    const failed = await authenticate(input({ resolver, mailFrom: 'a@flaky.example' }))
    assert.equal(failed.spf.result, 'temperror')
  } finally {
    dns.servfail('flaky.example', false)
  }
  const later = await authenticate(input({ resolver, mailFrom: 'a@flaky.example' }))
  assert.equal(later.spf.result, 'pass')
})

test('a view says until when its answers hold', async () => {
  const now = Date.now()
  const base = registry.mailauth([dns.address], 1, 60)
  const view = messageResolver(base, now + 5000).track()
  assert.equal(view.validUntil(), Infinity)
  await view('cached.example', 'TXT')
  const until = view.validUntil()
  assert.ok(until > now + 50_000 && until <= Date.now() + 60_000)
  await assert.rejects(view('nothing.cached.example', 'TXT'))
  assert.ok(view.validUntil() > now && view.validUntil() <= until)
  // a resolver without expiries: nothing built on it is kept
  const plain = messageResolver(async () => ['x'], now + 5000).track()
  await plain('a', 'TXT')
  assert.equal(plain.validUntil(), 0)
})

test('a kept answer is given at once, the same as a lookup gives it', async () => {
  const base = registry.mailauth([dns.address], 1, 60)
  assert.equal(base.cached?.('kept.cached.example', 'TXT'), undefined)
  const looked = await base.timed?.('cached.example', 'TXT')
  const kept = base.cached?.('CACHED.example', 'TXT')
  assert.deepEqual(kept, looked)
  // each caller gets its own list: mailauth sorts some in place
  assert.notEqual((kept as { value: unknown }).value, (base.cached?.('cached.example', 'TXT') as { value: unknown }).value)
  // a kept "no such record" comes back as the same error
  await base.timed?.('nothing.cached.example', 'TXT')
  assert.equal(base.cached?.('nothing.cached.example', 'TXT')?.error?.code, 'ENOTFOUND')
  // past the deadline of a message even a kept answer is a timeout, as before
  const late = messageResolver(base, Date.now() - 1)
  await assert.rejects(late('cached.example', 'TXT'), { code: 'ETIMEOUT' })
  dns.queries = []
  assert.deepEqual(await messageResolver(base, Date.now() + 5000)('cached.example', 'TXT'), (kept as { value: unknown }).value)
  assert.equal(dns.queries.length, 0)
})

test('a record the checks looked up on the same [dns] settings is not asked again, nor counted against the message', async () => {
  const checks = registry.dns([dns.address], 1, 60)
  assert.deepEqual(await checks.txt('checked.example'), { status: 'ok', values: ['v=spf1 ip4:198.51.100.0/24 -all'] })
  dns.queries = []
  const raw = Buffer.from('From: <a@checked.example>\r\nSubject: x\r\n\r\nhi\r\n')
  const facts = await authenticate(input({ raw, mailFrom: 'a@checked.example', resolver: registry.mailauth([dns.address], 1, 60) }))
  assert.equal(facts.spf.result, 'pass')
  assert.equal(facts.dmarc?.result, 'pass')
  assert.deepEqual(dns.queries.map((q) => `${q.type} ${q.name}`), ['TXT _dmarc.checked.example'])
  assert.deepEqual(facts.lookups, { count: 1, max: Infinity, refused: 0 })
})
