// The connect and mailfrom checks as plain functions.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { concurrency } from '../../../plugins/lib/checks/concurrency'
import { ptrCheck } from '../../../plugins/lib/checks/ptr'
import { senderRate } from '../../../plugins/lib/checks/sender-rate'
import { nullSender } from '../../../plugins/lib/checks/null-sender'
import { windowKeys, recentCount, countOne } from '../../../plugins/lib/store/rate-window'
import { MemoryStore } from '../../../plugins/lib/store/memory'
import { ptrName } from '../../../plugins/lib/dns/resolver'
import { clientKey } from '../../../plugins/lib/config/netlist'
import { concurrencyKey, ptrPhase } from '../../../plugins/lib/phases/connect'
import { PhaseRun } from '../../../plugins/lib/phases/run'
import { readSettings } from '../../../plugins/lib/config/settings'

test('G2: over max only; off at 0; unknown counts never refuse', () => {
  assert.equal(concurrency({ connections: 10 }, { max: 10 }), undefined)
  assert.equal(concurrency({ connections: 11 }, { max: 10 })?.id, 'G2')
  assert.equal(concurrency({ connections: 99 }, { max: 0 }), undefined)
  assert.equal(concurrency({ connections: undefined }, { max: 1 }), undefined)
})

test('G1F: none refuses, errors follow dns_error, fcrdns', () => {
  const cfg = { enabled: true, dns_error: 'defer' as const, fcrdns: false }
  const ip = '198.51.100.7'
  assert.deepEqual(ptrCheck({ ip, ptr: { status: 'none', code: 'ENOTFOUND' } }, cfg), { id: 'G1F', vars: { ip }, reason: 'no PTR record (ENOTFOUND)' })
  assert.equal(ptrCheck({ ip, ptr: { status: 'error', code: 'ESERVFAIL' } }, cfg)?.id, 'G1F')
  assert.equal(ptrCheck({ ip, ptr: { status: 'error', code: 'ETIMEOUT' } }, { ...cfg, dns_error: 'accept' }), undefined)
  assert.equal(ptrCheck({ ip, ptr: { status: 'ok', values: ['a.example'] } }, cfg), undefined)
  assert.equal(ptrCheck({ ip, ptr: { status: 'none', code: 'ENOTFOUND' } }, { ...cfg, enabled: false }), undefined)
  const f = { ...cfg, fcrdns: true }
  assert.equal(ptrCheck({ ip, ptr: { status: 'ok', values: ['a.example'] }, forward: 'match' }, f), undefined)
  assert.equal(ptrCheck({ ip, ptr: { status: 'ok', values: ['a.example'] }, forward: 'nomatch' }, f)?.id, 'G1F')
  assert.equal(ptrCheck({ ip, ptr: { status: 'ok', values: ['a.example'] }, forward: 'error' }, f)?.id, 'G1F')
  assert.equal(ptrCheck({ ip, ptr: { status: 'ok', values: ['a.example'] }, forward: 'error' }, { ...f, dns_error: 'accept' }), undefined)
})

test('G29 and G34', () => {
  assert.equal(senderRate({ recent: 1.5 }, { limit: 2 }), undefined)
  assert.equal(senderRate({ recent: 2 }, { limit: 2 })?.id, 'G29')
  assert.equal(senderRate({ recent: 5 }, { limit: 0 }), undefined)
  assert.equal(senderRate({ recent: undefined }, { limit: 1 }), undefined)
  assert.equal(nullSender({ isNull: true }, { reject: true })?.id, 'G34')
  assert.equal(nullSender({ isNull: true }, { reject: false }), undefined)
  assert.equal(nullSender({ isNull: false }, { reject: true }), undefined)
})

test('sliding window: the previous period fades out as the current one runs', async () => {
  const k = windowKeys('p', 100, 250_000)
  assert.deepEqual(k, { current: 'p:100:2', previous: 'p:100:1', weight: 0.5 })
  assert.equal(windowKeys('p', 100, 275_000).weight, 0.25)
  const store = new MemoryStore(() => 0)
  const t0 = 1_000_000 // start of a period
  for (let i = 0; i < 4; i++) await countOne(store, 's', 100, t0 + 10_000)
  assert.equal(await recentCount(store, 's', 100, t0 + 50_000), 4)
  // Halfway into the next period, half of the previous one still counts.
  assert.equal(await recentCount(store, 's', 100, t0 + 150_000), 2)
  await countOne(store, 's', 100, t0 + 150_000)
  assert.equal(await recentCount(store, 's', 100, t0 + 150_000), 3)
  // Two periods later nothing is left.
  assert.equal(await recentCount(store, 's', 100, t0 + 300_000), 0)
  await store.close()
})

test('ptrName: IPv4, IPv6, mapped', () => {
  assert.equal(ptrName('198.51.100.7'), '7.100.51.198.in-addr.arpa')
  assert.equal(ptrName('::ffff:198.51.100.7'), '7.100.51.198.in-addr.arpa')
  assert.equal(ptrName('2001:db8::1'), '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa')
})

test('clientKey: IPv4 as itself, IPv4-mapped as IPv4, IPv6 by its network of the prefix', () => {
  assert.equal(clientKey('198.51.100.7', 64), '198.51.100.7')
  assert.equal(clientKey('::ffff:198.51.100.7', 64), '198.51.100.7')
  assert.equal(clientKey('::FFFF:c633:6407', 48), '198.51.100.7')
  // Every address of one /64 is one client, however it is written.
  for (const ip of ['2001:db8:1:2::1', '2001:DB8:1:2:ffff:ffff:ffff:fffe', '2001:db8:0001:0002:0:0:0:5', '[2001:db8:1:2::9]']) {
    assert.equal(clientKey(ip, 64), '2001:db8:1:2::/64', ip)
  }
  assert.equal(clientKey('2001:db8:1:3::1', 64), '2001:db8:1:3::/64')
  // Prefixes that end inside a group keep only their bits.
  assert.equal(clientKey('2001:db8:1:2ff::1', 56), '2001:db8:1:200::/56')
  assert.equal(clientKey('2001:db8:1:2ff::1', 60), '2001:db8:1:2f0::/60')
  assert.equal(clientKey('2001:db8:abcd:12::1', 48), '2001:db8:abcd::/48')
  assert.equal(clientKey('2001:db8:abcd:12::1', 33), '2001:db8:8000::/33')
  // 128 bits: the address itself, as before.
  assert.equal(clientKey('2001:DB8::0:1', 128), '2001:db8::1')
  assert.equal(clientKey('not an address', 64), 'not an address')
  assert.equal(concurrencyKey('2001:db8:1:2::1', 64), 'sc:conc:{2001:db8:1:2::/64}')
  assert.equal(concurrencyKey('::ffff:198.51.100.7', 64), 'sc:conc:{198.51.100.7}')
})

test('a check let through by its own setting (dns_error=accept) is counted as fail-open; a real answer is not', () => {
  const lenient = readSettings('support-codes-connect.ini', { ptr: { dns_error: 'accept' } }).settings
  const failed = new PhaseRun(() => false)
  ptrPhase(failed, lenient, { ip: '198.18.0.9', ptr: { status: 'error', code: 'ESERVFAIL' } })
  assert.equal(failed.stop, undefined)
  assert.equal(failed.failedOpen.length, 1)
  assert.match(failed.failedOpen[0], /^ptr: let through by its setting; its safe value would have sent G1F \(PTR lookup failed \(ESERVFAIL\); dns_error=defer\) \[fail-open ptr #\d+\]$/)
  const none = new PhaseRun(() => false)
  ptrPhase(none, lenient, { ip: '198.18.0.9', ptr: { status: 'none', code: 'ENOTFOUND' } })
  assert.equal(none.stop?.verdict?.id, 'G1F')
  assert.deepEqual(none.failedOpen, [])
  const strict = new PhaseRun(() => false)
  ptrPhase(strict, readSettings('support-codes-connect.ini', {}).settings, { ip: '198.18.0.9', ptr: { status: 'error', code: 'ESERVFAIL' } })
  assert.equal(strict.stop?.verdict?.id, 'G1F')
  assert.deepEqual(strict.failedOpen, [])
})
