// A process's DNS registry: views on the same [dns] settings share one
// front-end (and so one answer cache), changed settings start on a fresh
// one, and a front-end no view holds any more is not handed out again.
// No lookup is made: these are the registry's own rules.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DnsRegistry } from '../../../plugins/lib/dns/registry'

const SERVERS = ['127.0.0.1:5300']

test('the checks\' Dns and mailauth\'s resolver on the same settings are one front-end; each view is made once', () => {
  const r = new DnsRegistry()
  const d = r.dns(SERVERS, 1, 60)
  const m = r.mailauth(SERVERS, 1, 60)
  assert.equal(r.dns(SERVERS, 1, 60), d)
  assert.equal(r.mailauth(SERVERS, 1, 60), m)
  assert.equal(r.frontEnd('dns', SERVERS, 1, 60), r.frontEnd('mailauth', SERVERS, 1, 60))
  assert.equal(m.timeoutMs, 1000)
})

test('the uncached view is its own, and shares with mailauth only when [dns] cache_ttl is 0', () => {
  const r = new DnsRegistry()
  const cached = r.dns(SERVERS, 1, 60)
  const uncached = r.dns(SERVERS, 1, 60, false)
  assert.notEqual(uncached, cached)
  assert.equal(r.dns(SERVERS, 1, 60, false), uncached)
  assert.notEqual(r.frontEnd('dns-uncached', SERVERS, 1, 0), r.frontEnd('dns', SERVERS, 1, 60))
  r.mailauth(SERVERS, 1, 0)
  assert.equal(r.frontEnd('mailauth', SERVERS, 1, 0), r.frontEnd('dns-uncached', SERVERS, 1, 0))
})

test('changed settings start fresh; a front-end another view holds is shared, one nobody holds is gone', () => {
  const r = new DnsRegistry()
  const d1 = r.dns(SERVERS, 1, 60)
  const m1 = r.mailauth(SERVERS, 1, 60)
  const fe1 = r.frontEnd('mailauth', SERVERS, 1, 60)
  const d2 = r.dns(SERVERS, 2, 60)
  assert.notEqual(d2, d1)
  assert.notEqual(r.frontEnd('dns', SERVERS, 2, 60), fe1)
  // back to 1 s: mailauth still holds that front-end, so the checks share it again
  assert.notEqual(r.dns(SERVERS, 1, 60), d2)
  assert.equal(r.frontEnd('dns', SERVERS, 1, 60), fe1)
  // both move to 3 s: nobody holds the 1 s one, so going back starts fresh
  r.dns(SERVERS, 3, 60)
  assert.notEqual(r.mailauth(SERVERS, 3, 60), m1)
  r.dns(SERVERS, 1, 60)
  assert.notEqual(r.frontEnd('dns', SERVERS, 1, 60), fe1)
})

test('two registries share nothing (two processes, or two explain runs)', () => {
  const a = new DnsRegistry()
  const b = new DnsRegistry()
  assert.notEqual(a.dns(SERVERS, 1, 60), b.dns(SERVERS, 1, 60))
  assert.notEqual(a.frontEnd('dns', SERVERS, 1, 60), b.frontEnd('dns', SERVERS, 1, 60))
})
