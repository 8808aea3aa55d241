// The realistic case's traffic (test/bench/mix.ts): the Zipf draws, which
// clients the bundle refuses or defers, and the names the bench DNS server
// answers for them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { clientIp, designedShares, draws, mixClients, mixZone, Outcome, rankOf, senderDomain, zipfCdf } from '../../bench/mix'
import { ptrName, reverseName } from '../../rig/dns-server'

const LISTS: Array<[string, string]> = [
  ['bl.score.senderscore.com', '127.0.0.2'],
  ['xbl.spamhaus.org', '127.0.0.4'],
]

test('zipfCdf: rank r weighs 1/(r+1), normalized; the busiest of 1000 takes 1/H(1000)', () => {
  const cdf = zipfCdf(1000)
  assert.equal(cdf.length, 1000)
  assert.equal(cdf[999], 1)
  assert.ok(Math.abs(cdf[0] - 0.133592) < 1e-6)
  assert.ok(Math.abs(cdf[1] - cdf[0] - cdf[0] / 2) < 1e-12)
  for (let r = 1; r < 1000; r++) assert.ok(cdf[r] > cdf[r - 1])
})

test('rankOf: a draw falls on the first rank whose cumulative weight is above it', () => {
  const cdf = zipfCdf(4)
  assert.equal(rankOf(cdf, 0), 0)
  assert.equal(rankOf(cdf, cdf[0] - 1e-9), 0)
  assert.equal(rankOf(cdf, cdf[0]), 1)
  assert.equal(rankOf(cdf, cdf[2]), 3)
  assert.equal(rankOf(cdf, 0.999999999), 3)
})

test('draws: the same seed gives the same sessions, another seed others', () => {
  const take = (seed: number): string => {
    const next = draws(seed)
    return JSON.stringify(Array.from({ length: 50 }, next))
  }
  assert.equal(take(7), take(7))
  assert.notEqual(take(7), take(8))
})

test('mixClients: every 10th client from rank 3 listed, the lists taking turns; every 20th from rank 7 without PTR; no client both', () => {
  const clients = mixClients(LISTS)
  assert.equal(clients.length, 1000)
  assert.deepEqual(clients[3], { ip: '198.18.1.4', ptr: 'mail4.client4.example', listedIn: { zone: 'bl.score.senderscore.com', answer: '127.0.0.2' }, outcome: 'refused' })
  assert.deepEqual(clients[13].listedIn, { zone: 'xbl.spamhaus.org', answer: '127.0.0.4' })
  assert.deepEqual(clients[7], { ip: '198.18.1.8', ptr: undefined, listedIn: undefined, outcome: 'deferred' })
  assert.deepEqual(clients[0], { ip: '198.18.1.1', ptr: 'mail1.client1.example', listedIn: undefined, outcome: 'accepted' })
  const count = (o: Outcome): number => clients.filter((c) => c.outcome === o).length
  assert.deepEqual([count('accepted'), count('refused'), count('deferred')], [850, 100, 50])
  assert.ok(!clients.some((c) => c.listedIn && !c.ptr))
  assert.equal(new Set(clients.map((c) => c.ip)).size, 1000)
  assert.equal(clientIp(999), '198.18.4.250')
})

test('designedShares: by the Zipf weights, 86.1 % accepted, 9.6 % refused, 4.3 % deferred; 20,000 draws come close', () => {
  const clients = mixClients(LISTS)
  const s = designedShares(clients)
  assert.deepEqual([s.accepted, s.refused, s.deferred].map((x) => x.toFixed(3)), ['0.861', '0.096', '0.043'])
  const next = draws(42)
  const seen: Record<Outcome, number> = { accepted: 0, refused: 0, deferred: 0 }
  for (let i = 0; i < 20000; i++) seen[clients[next().client].outcome]++
  assert.deepEqual(seen, { accepted: 17206, refused: 1942, deferred: 852 })
})

test('mixZone: MX, passing SPF and DMARC per sender domain; PTR and its address per client but the PTR-less; the listed clients on their list', () => {
  const clients = mixClients(LISTS)
  const zone = mixZone(clients)
  const d = senderDomain(41)
  assert.equal(d, 'sender42.example')
  assert.deepEqual(zone[d], [
    { type: 'MX', data: { preference: 10, exchange: 'mx.sender42.example' } },
    { type: 'TXT', data: 'v=spf1 ip4:198.18.0.0/15 -all' },
  ])
  assert.deepEqual(zone['mx.sender42.example'], [{ type: 'A', data: '198.19.1.42' }])
  assert.deepEqual(zone['_dmarc.sender42.example'], [{ type: 'TXT', data: 'v=DMARC1; p=reject; rua=mailto:dmarc@sender42.example' }])
  assert.deepEqual(zone[ptrName('198.18.1.1')], [{ type: 'PTR', data: 'mail1.client1.example' }])
  assert.deepEqual(zone['mail1.client1.example'], [{ type: 'A', data: '198.18.1.1' }])
  assert.equal(zone[ptrName('198.18.1.8')], undefined)
  assert.deepEqual(zone[reverseName('198.18.1.4', 'bl.score.senderscore.com')], [{ type: 'A', data: '127.0.0.2' }])
  assert.deepEqual(zone[reverseName('198.18.1.14', 'xbl.spamhaus.org')], [{ type: 'A', data: '127.0.0.4' }])
  assert.equal(zone[reverseName('198.18.1.1', 'bl.score.senderscore.com')], undefined)
})
