// DNS list answers and the G31/G32, G28 and G30 checks as plain functions.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { answerMeaning, isUnlistable, queryName, zoneConfigs } from '../../../plugins/lib/lists/dnsbl'
import { dnsblCheck } from '../../../plugins/lib/checks/dnsbl'
import { ZoneHealth } from '../../../plugins/lib/lists/dnsbl-health'
import { newIpCheck, isUntrusted } from '../../../plugins/lib/checks/new-ip'
import { mailboxRate } from '../../../plugins/lib/checks/mailbox-rate'
import { Dns, Lookup } from '../../../plugins/lib/dns/resolver'
import { keys } from '../../../plugins/lib/phases/rcpt'

const { zones } = zoneConfigs(['ss', 'xbl'], {
  ss: { zone: 'bl.score.senderscore.com', code: 'G31', listed: '127.0.0.2' },
  xbl: { zone: 'xbl.spamhaus.org.', code: 'g32', listed: '127.0.0.4/30', ipv6: 'true' },
})
const [ss, xbl] = zones
const ok = (...values: string[]): Lookup<string> => ({ status: 'ok', values })

test('zone sections: good ones kept, bad ones named', () => {
  assert.equal(zones.length, 2)
  assert.equal(xbl.zone, 'xbl.spamhaus.org')
  assert.equal(xbl.code, 'G32')
  const bad = zoneConfigs(['a', 'b', 'c', 'd'], {
    a: { zone: 'not a zone', code: 'G31', listed: '127.0.0.2' },
    b: { zone: 'bl.example', code: 'G99', listed: '127.0.0.2' },
    c: { zone: 'bl.example', code: 'G31', listed: 'x' },
  })
  assert.equal(bad.zones.length, 0)
  assert.deepEqual(bad.problems.map((p) => p.split(' ')[0]), ['[a]', '[b]', '[c]', '[dnsbl]'])
})

test('query names: IPv4 reversed, IPv6 nibbles only where the zone takes IPv6', () => {
  assert.equal(queryName('198.51.100.7', ss), '7.100.51.198.bl.score.senderscore.com')
  assert.equal(queryName('::ffff:198.51.100.7', ss), '7.100.51.198.bl.score.senderscore.com')
  assert.equal(queryName('2001:db8::1', ss), undefined)
  assert.equal(queryName('2001:db8::1', xbl), '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.xbl.spamhaus.org')
})

test('answers: listed (lowest), other, errors, not listed', () => {
  assert.deepEqual(answerMeaning(ok('127.0.0.7', '127.0.0.5'), xbl), { kind: 'listed', result: '127.0.0.5' })
  assert.deepEqual(answerMeaning(ok('127.0.0.3'), ss), { kind: 'other', answers: ['127.0.0.3'] })
  assert.equal(answerMeaning(ok('127.255.255.254'), xbl).kind, 'error')
  assert.equal(answerMeaning(ok('127.0.0.2', '10.0.0.1'), ss).kind, 'error')
  assert.equal(answerMeaning({ status: 'error', code: 'ESERVFAIL' }, ss).kind, 'error')
  assert.deepEqual(answerMeaning({ status: 'none', code: 'ENOTFOUND' }, ss), { kind: 'not-listed' })
})

test('G31/G32: the first listing zone in order answers', () => {
  const ip = '198.18.0.9'
  assert.deepEqual(dnsblCheck({ ip, results: [{ zone: ss, meaning: { kind: 'not-listed' } }, { zone: xbl, meaning: { kind: 'listed', result: '127.0.0.4' } }] }),
    { id: 'G32', vars: { ip, zone: 'xbl.spamhaus.org', result: '127.0.0.4' }, reason: 'xbl.spamhaus.org answered 127.0.0.4' })
  assert.equal(dnsblCheck({ ip, results: [{ zone: ss, meaning: { kind: 'listed', result: '127.0.0.2' } }, { zone: xbl, meaning: { kind: 'listed', result: '127.0.0.4' } }] })?.id, 'G31')
  assert.equal(dnsblCheck({ ip, results: [{ zone: ss, meaning: { kind: 'other', answers: ['127.0.0.3'] } }] }), undefined)
})

test('zone health: errors in a row switch a zone off; a passed test brings it back', async () => {
  const logs: string[] = []
  let answers: Record<string, Lookup<string>> = {}
  const dns = { a: async (name: string) => answers[name] ?? { status: 'none', code: 'ENOTFOUND' } } as unknown as Dns
  const h = new ZoneHealth(() => dns, { loginfo: (m) => logs.push(m), logwarn: (m) => logs.push(m) })
  for (let i = 0; i < 4; i++) h.record(ss, { kind: 'error', why: 'lookup failed (ESERVFAIL)' }, 5)
  h.record(ss, { kind: 'not-listed' }, 5)
  assert.equal(h.enabled(ss.zone), true, 'the run was broken')
  for (let i = 0; i < 5; i++) h.record(ss, { kind: 'error', why: 'lookup failed (ESERVFAIL)' }, 5)
  assert.equal(h.enabled(ss.zone), false)
  assert.match(logs[0], /DNS list bl\.score\.senderscore\.com switched off: 5 errors in a row/)
  assert.equal(await h.test(ss), false, 'no 127.0.0.2 entry yet')
  answers = { '2.0.0.127.bl.score.senderscore.com': ok('127.0.0.2') }
  assert.equal(await h.test(ss), true)
  assert.equal(h.enabled(ss.zone), true)
  answers['1.0.0.127.bl.score.senderscore.com'] = ok('127.0.0.2')
  assert.equal(await h.test(ss), false, 'a zone that lists 127.0.0.1 lists everyone')
  assert.match(h.offReason(ss.zone) ?? '', /lists 127\.0\.0\.1/)
  h.stop()
})

test('G28: new or untrusted, at the limit', () => {
  const cfg = { limit: 3, probation: 86400, untrusted_min: 10, untrusted_ratio: 0.5 }
  const base = { rcptOk: 0, rcptRefused: 0 }
  assert.equal(newIpCheck({ ...base, age: 60, accepted: 2 }, cfg), undefined)
  assert.equal(newIpCheck({ ...base, age: 60, accepted: 3 }, cfg)?.id, 'G28')
  assert.equal(newIpCheck({ ...base, age: 90000, accepted: 50 }, cfg), undefined, 'established')
  assert.equal(newIpCheck({ age: 90000, accepted: 3, rcptOk: 2, rcptRefused: 8 }, cfg)?.id, 'G28', 'untrusted')
  assert.equal(newIpCheck({ ...base, age: 60, accepted: 99 }, { ...cfg, limit: 0 }), undefined)
  assert.equal(newIpCheck({ ...base, age: undefined, accepted: 99 }, cfg), undefined, 'store could not say')
  assert.equal(isUntrusted({ rcptOk: 1, rcptRefused: 8 }, cfg), false, 'too few to judge')
  assert.equal(isUntrusted({ rcptOk: 5, rcptRefused: 5 }, cfg), false, 'half is not most')
})

test('G30', () => {
  assert.equal(mailboxRate({ recent: 4.9 }, { limit: 5 }), undefined)
  assert.equal(mailboxRate({ recent: 5 }, { limit: 5 })?.id, 'G30')
  assert.equal(mailboxRate({ recent: 9 }, { limit: 0 }), undefined)
})

test('private, loopback and link-local clients are not looked up; public and test ranges are', () => {

  for (const ip of ['10.1.2.3', '192.168.0.1', '127.0.0.1', '::1', 'fe80::1', 'fd00::1', '::ffff:10.0.0.1']) assert.equal(isUnlistable(ip), true, ip)
  for (const ip of ['198.18.0.7', '198.51.100.7', '2001:db8::1', '8.8.8.8']) assert.equal(isUnlistable(ip), false, ip)
})

test('G28 counters: an IPv6 client per network of [store] ipv6_prefix, IPv4 and IPv4-mapped per address', () => {
  assert.equal(keys.firstSeen('2001:db8:1:2::1'), 'sc:ip:{2001:db8:1:2::/64}:first')
  assert.equal(keys.ipAccepted('2001:db8:1:2:aaaa::1', 64), keys.ipAccepted('2001:db8:1:2:bbbb::2', 64))
  assert.notEqual(keys.ipAccepted('2001:db8:1:2::1', 64), keys.ipAccepted('2001:db8:1:3::1', 64))
  assert.equal(keys.ipAccepted('2001:db8:1:3::1', 48), 'sc:ip:{2001:db8:1::/48}:accepted')
  assert.equal(keys.ipRcptOk('::ffff:198.51.100.7', 64), 'sc:ip:{198.51.100.7}:rcpt-ok')
  assert.equal(keys.ipRcptRefused('198.51.100.7', 64), 'sc:ip:{198.51.100.7}:rcpt-refused')
  // G30 counts the recipient mailbox: no address in it.
  assert.equal(keys.mailbox('Bob@Example.com'), 'sc:rate:rcpt:{bob@example.com}')
})
