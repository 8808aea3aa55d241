// End to end: what the bundle says at start about its configuration, one
// log line each, and what it does instead.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as os from 'node:os'
import * as path from 'node:path'
import { Haraka } from '../rig/haraka'
import { TestDns } from '../rig/dns-server'
import { freePort } from '../rig/ports'
import { sendMail, message } from '../rig/smtp-client'

test('unknown keys and sections, bad values, unreachable Redis and clamd are each named once', async (t) => {
  const dns = await TestDns.start({ records: { '*.18.198.in-addr.arpa': [{ type: 'PTR', data: 'client.test' }] } })
  const deadRedis = await freePort()
  const h = await Haraka.start({
    dns: dns.address,
    config: {
      'support-codes.ini': '[main]\nmonitr=true\n\n[store]\nbackend=redis\ntimeout=0.2\n\n[extras]\nx=1\n',
      'redis.ini': `[server]\nhost=127.0.0.1\nport=${deadRedis}\n`,
      'support-codes-connect.ini': '[concurrency]\nmax=ten\n',
      'support-codes-rcpt.ini': '[dnsbl]\nzones=senderscore\n\n[mylist]\nzone=bl.example\n\n[senderscore]\nlisted=127.0.0.2\ncolour=red\n',
      'support-codes-data.ini': `[virus]\nclamd=${path.join(os.tmpdir(), 'no-such-clamd.sock')}\non_error=accept\n`,
    },
  })
  t.after(async () => { await h.stop(); await dns.stop() })
  await h.waitForLog(/support-codes\.ini \[main\] monitr is not a known key; ignored/)
  await h.waitForLog(/support-codes\.ini \[extras\] is not a known section; ignored/)
  await h.waitForLog(/support-codes-connect\.ini \[concurrency\] max=ten is not a number; using 10/)
  await h.waitForLog(/support-codes-rcpt\.ini \[mylist\] is not a known section; ignored/)
  await h.waitForLog(/support-codes-rcpt\.ini \[senderscore\] colour is not a known key; ignored/)
  // Said once the link has kept failing past its first 2 s of connecting.
  await h.waitForLog(/checks that need the store let mail through until it is back/, 15_000)
  await h.waitForLog(/clamd \/.*no-such-clamd\.sock does not answer \(.*\): messages are accepted unscanned until it answers \(\[virus\] on_error=accept\)/)
  // And mail still flows.
  const res = await sendMail({ port: h.port, proxyFrom: '198.18.9.9', helo: 'client.test', from: 'a@sender.example', to: ['b@example.com'], message: message({}) })
  assert.equal(res.data?.code, 250)
  for (const re of [/monitr is not a known key/g, /max=ten is not a number/g, /\[mylist\] is not a known section/g]) {
    assert.equal((h.log.match(re) ?? []).length, 1, String(re))
  }
})
