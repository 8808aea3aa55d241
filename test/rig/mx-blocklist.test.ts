// G14 against the DNS server on loopback: the sender domain's MX hosts and
// their addresses, looked up and matched against the MX blocklist.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { MxBlocklist } from '../../plugins/lib/lists/mx-blocklist'
import { senderMxCheck, SenderMxFacts } from '../../plugins/lib/checks/sender-mx'
import { gatherSenderMx } from '../../plugins/lib/phases/rcpt'
import { Dns, makeDns } from '../../plugins/lib/dns/resolver'
import { TestDns, Zone } from './dns-server'

describe('G14 against the test DNS server', () => {
  const records: Zone = {
    // By name, by suffix.
    'suffix.example': [{ type: 'MX', data: { preference: 10, exchange: 'mx1.bad.example' } }],
    'mx1.bad.example': [{ type: 'A', data: '192.0.2.1' }],
    // By address: an MX host whose A is in a blocked CIDR.
    'byaddr.example': [{ type: 'MX', data: { preference: 10, exchange: 'mx.hosting.example' } }],
    'mx.hosting.example': [{ type: 'A', data: '203.0.113.25' }],
    // By IPv6 address.
    'v6.example': [
      { type: 'MX', data: { preference: 10, exchange: 'mx6.hosting.example' } },
      { type: 'MX', data: { preference: 20, exchange: 'mx.clean.example' } },
    ],
    'mx6.hosting.example': [{ type: 'AAAA', data: '2001:db8:bad::25' }],
    'mx.clean.example': [{ type: 'A', data: '198.51.100.20' }, { type: 'AAAA', data: '2001:db8:c1ea::25' }],
    // Nothing blocked.
    'clean.example': [{ type: 'MX', data: { preference: 10, exchange: 'mx.clean.example' } }],
    // Implicit MX: no MX record, the domain's own A (RFC 5321 5.1).
    'implicit.example': [{ type: 'A', data: '203.0.113.9' }],
    'implicit-clean.example': [{ type: 'A', data: '198.51.100.9' }],
    'host.bad.example': [{ type: 'A', data: '198.51.100.10' }],
    // Null MX (RFC 7505), with an A in a blocked range all the same.
    'nullmx.example': [{ type: 'MX', data: { preference: 0, exchange: '.' } }, { type: 'A', data: '203.0.113.10' }],
    // SERVFAIL on one MX host's addresses only.
    'sfaddr.example': [
      { type: 'MX', data: { preference: 10, exchange: 'mx-sf.hosting.example' } },
      { type: 'MX', data: { preference: 20, exchange: 'mx.clean.example' } },
    ],
    'sfaddr-blocked.example': [
      { type: 'MX', data: { preference: 10, exchange: 'mx-sf.hosting.example' } },
      { type: 'MX', data: { preference: 20, exchange: 'mx.hosting.example' } },
    ],
    'sfaddr-named.example': [{ type: 'MX', data: { preference: 10, exchange: 'mx-sf.bad.example' } }],
    // An MX host that is a CNAME (RFC 2181 10.3 forbids it; it happens).
    'cname.example': [{ type: 'MX', data: { preference: 10, exchange: 'mx.alias.example' } }],
    'mx.alias.example': [{ type: 'CNAME', data: 'real.hosting.example' }],
    'real.hosting.example': [{ type: 'A', data: '203.0.113.77' }],
    // A sender domain that is a CNAME of another.
    'alias-domain.example': [{ type: 'CNAME', data: 'suffix.example' }],
  }
  // 50 MX records, listed out of preference order; mxNN has preference NN.
  // The least preferred one, mx49, has a blocked address.
  for (let i = 0; i < 50; i++) {
    const pref = (i * 7) % 50
    const host = `mx${String(pref).padStart(2, '0')}.many.example`
    ;(records['many.example'] ??= []).push({ type: 'MX', data: { preference: pref, exchange: host } })
    records[host] = [{ type: 'A', data: pref === 49 ? '203.0.113.49' : `198.51.100.${100 + pref}` }]
  }

  const { list } = MxBlocklist.parse(['.bad.example', '203.0.113.0/24', '2001:db8:bad::/48'])
  let server: TestDns
  let dns: Dns
  before(async () => {
    server = await TestDns.start({ records, servfail: ['servfail.example', 'mx-sf.hosting.example', 'mx-sf.bad.example'] })
    dns = makeDns([server.address], 1)
  })
  after(async () => {
    await server.stop()
  })

  const check = async (domain: string, blocklist = list): Promise<{ facts: SenderMxFacts; verdict: ReturnType<typeof senderMxCheck> }> => {
    const facts = await gatherSenderMx(domain, `alice@${domain}`, dns, blocklist.hasAddresses)
    return { facts, verdict: senderMxCheck(facts, blocklist) }
  }

  test('MX host matched by suffix', async () => {
    const { verdict } = await check('suffix.example')
    assert.deepEqual(verdict, {
      id: 'G14',
      vars: { email: 'alice@suffix.example' },
      reason: 'MX host mx1.bad.example matches .bad.example',
    })
    // Names alone need no address lookups.
    const names = MxBlocklist.parse(['.bad.example']).list
    const facts = await gatherSenderMx('Suffix.Example.', 'alice@Suffix.Example.', dns, names.hasAddresses)
    assert.equal(facts.addresses, undefined)
    assert.equal(facts.domain, 'suffix.example')
    assert.equal(senderMxCheck(facts, names)?.id, 'G14')
  })

  test('MX host matched by address (A in a blocked CIDR, AAAA in a blocked IPv6 CIDR)', async () => {
    const a = await check('byaddr.example')
    assert.equal(a.verdict?.reason, 'MX host mx.hosting.example address 203.0.113.25 matches 203.0.113.0/24')
    assert.deepEqual(a.facts.addresses?.map((x) => [x.host, x.lookup.status]), [['mx.hosting.example', 'ok'], ['mx.hosting.example', 'none']])
    const v6 = await check('v6.example')
    assert.equal(v6.verdict?.reason, 'MX host mx6.hosting.example address 2001:db8:bad::25 matches 2001:db8:bad::/48')
    assert.equal((await check('clean.example')).verdict, undefined)
  })

  test('implicit MX: no MX record, the domain itself by address and by name', async () => {
    const byAddr = await check('implicit.example')
    assert.deepEqual(byAddr.facts.mx, { status: 'none', code: 'ENODATA' })
    assert.equal(byAddr.verdict?.reason, 'MX host implicit.example (implicit MX) address 203.0.113.9 matches 203.0.113.0/24')
    assert.equal((await check('host.bad.example')).verdict?.reason, 'MX host host.bad.example (implicit MX) matches .bad.example')
    assert.equal((await check('implicit-clean.example')).verdict, undefined)
  })

  test('null MX refuses nothing and looks up no addresses', async () => {
    const { facts, verdict } = await check('nullmx.example')
    assert.equal(facts.mx.status, 'ok')
    assert.equal(facts.addresses, undefined)
    assert.equal(verdict, undefined)
  })

  test('NXDOMAIN refuses nothing', async () => {
    const { facts, verdict } = await check('nosuch.example')
    assert.deepEqual(facts.mx, { status: 'none', code: 'ENOTFOUND' })
    assert.equal(facts.addresses, undefined)
    assert.equal(verdict, undefined)
  })

  test('SERVFAIL on the MX lookup defers, never refuses', async () => {
    const { facts, verdict } = await check('servfail.example')
    assert.equal(facts.mx.status, 'error')
    assert.equal(facts.addresses, undefined)
    assert.equal(verdict?.id, 'MX-TEMP')
    assert.equal(senderMxCheck(facts, list, { dns_error: 'accept' }), undefined)
  })

  test('SERVFAIL on an address lookup: that host is unknown (defer unless another matches), the others still count', async () => {
    const clean = await check('sfaddr.example')
    assert.deepEqual(clean.facts.addresses?.map((x) => [x.host, x.lookup.status]), [
      ['mx-sf.hosting.example', 'error'],
      ['mx-sf.hosting.example', 'error'],
      ['mx.clean.example', 'ok'],
      ['mx.clean.example', 'ok'],
    ])
    assert.deepEqual(clean.verdict, {
      id: 'MX-TEMP', vars: { email: 'alice@sfaddr.example' }, reason: 'address lookup of MX host mx-sf.hosting.example failed (ESERVFAIL)',
    })
    assert.equal(senderMxCheck(clean.facts, list, { dns_error: 'accept' }), undefined)
    assert.equal((await check('sfaddr-blocked.example')).verdict?.reason, 'MX host mx.hosting.example address 203.0.113.25 matches 203.0.113.0/24')
    // A name match needs no address.
    assert.equal((await check('sfaddr-named.example')).verdict?.reason, 'MX host mx-sf.bad.example matches .bad.example')
  })

  test('CNAMEs are followed: an MX host that is an alias, a sender domain that is one', async () => {
    const host = await check('cname.example')
    assert.equal(host.verdict?.reason, 'MX host mx.alias.example address 203.0.113.77 matches 203.0.113.0/24')
    assert.equal((await check('alias-domain.example')).verdict?.reason, 'MX host mx1.bad.example matches .bad.example')
  })

  test('50 MX records: addresses of the 10 most preferred hosts only, names of all', async () => {
    server.queries = []
    const { facts, verdict } = await check('many.example')
    assert.equal(facts.mx.status === 'ok' && facts.mx.values.length, 50)
    const looked = [...new Set(facts.addresses?.map((x) => x.host))]
    assert.deepEqual(looked, Array.from({ length: 10 }, (_, i) => `mx0${i}.many.example`))
    const asked = server.queries.filter((q) => q.type === 'A' || q.type === 'AAAA')
    assert.deepEqual([...new Set(asked.map((q) => q.name))].sort(), looked)
    // mx49's blocked address is past the cap.
    assert.equal(verdict, undefined)
    // Its name is not: matching a name costs no lookup.
    assert.equal(senderMxCheck(facts, MxBlocklist.parse(['mx49.many.example']).list)?.reason, 'MX host mx49.many.example matches mx49.many.example')
    // A larger cap reaches it.
    const all = await gatherSenderMx('many.example', 'alice@many.example', dns, true, 50)
    assert.equal(all.addresses?.length, 100)
    assert.equal(senderMxCheck(all, list)?.reason, 'MX host mx49.many.example address 203.0.113.49 matches 203.0.113.0/24')
  })

  test('the null sender is not looked up', async () => {
    server.queries = []
    const facts = await gatherSenderMx('', '', dns, true)
    assert.equal(server.queries.length, 0)
    assert.equal(senderMxCheck(facts, list), undefined)
  })
})
