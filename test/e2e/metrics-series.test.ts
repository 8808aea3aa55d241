// End to end: a real Haraka with [metrics] listen counts a DNS server that
// fails (a PTR lookup that SERVFAILs, one that times out) as
// dependency_errors_total{dependency="dns"}, the PTR check that could not
// decide as checks_total{result="error"}, and an allowlisted client's checks
// as checks_total{result="skip"}; exact values from one scrape.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { Haraka } from '../rig/haraka'
import { TestDns } from '../rig/dns-server'
import { SmtpClient } from '../rig/smtp-client'
import { freePort } from '../rig/ports'
import { waitFor } from '../rig/wait'

const SERVFAIL = '198.18.0.9'
const SILENT = '198.18.0.11'
const ALLOWED = '198.18.0.10'

let dns: TestDns
let h: Haraka
let url: string

before(async () => {
  dns = await TestDns.start({
    records: {
      '10.0.18.198.in-addr.arpa': [{ type: 'PTR', data: 'allowed.sender.example' }],
      'allowed.sender.example': [{ type: 'A', data: ALLOWED }],
    },
    servfail: ['9.0.18.198.in-addr.arpa'],
    silent: ['11.0.18.198.in-addr.arpa'],
  })
  const port = await freePort()
  h = await Haraka.start({
    dns: dns.address,
    config: {
      // No DNS list zones: the PTR lookups are the only lookups these sessions make.
      'support-codes.ini': `[main]\nallow=${ALLOWED}\n[metrics]\nlisten=127.0.0.1:${port}\n[dns]\ntimeout=0.5\n`,
      'support-codes-connect.ini': '[ptr]\ndns_error=accept\n',
      'support-codes-rcpt.ini': '[dnsbl]\nzones=\n',
    },
  })
  url = `http://127.0.0.1:${port}/metrics`
  await waitFor('the metrics listener', async () => (await fetch(url).catch(() => undefined))?.status === 200)
})

after(async () => {
  await h?.stop()
  await dns.stop()
})

/** One session from `ip`: EHLO, MAIL FROM and, when given, RCPT TO; the replies to those two. */
async function session(ip: string, from: string, rcpt?: string): Promise<string[]> {
  const c = await SmtpClient.connect({ port: h.port, proxyFrom: ip })
  try {
    await c.ehlo('client.sender.example')
    const replies = [(await c.send(`MAIL FROM:${from}`)).text]
    if (rcpt) replies.push((await c.send(`RCPT TO:${rcpt}`)).text)
    return replies
  } finally {
    c.close()
  }
}

async function series(prefix: string): Promise<string[]> {
  const res = await fetch(url)
  assert.equal(res.status, 200)
  return (await res.text()).split('\n').filter((l) => l.startsWith(prefix)).sort()
}

test('a PTR lookup that SERVFAILs and one that times out: two DNS errors, two PTR checks that could not decide', async () => {
  assert.match((await session(SERVFAIL, '<a@sender.example>'))[0], /^250 /)
  assert.match((await session(SILENT, '<a@sender.example>'))[0], /^250 /)
  assert.deepEqual(await series('support_codes_dependency_errors_total'), ['support_codes_dependency_errors_total{dependency="dns"} 2'])
  assert.deepEqual(await series('support_codes_checks_total'), [
    'support_codes_checks_total{check="concurrency",result="pass"} 2',
    'support_codes_checks_total{check="null_sender",result="pass"} 2',
    'support_codes_checks_total{check="ptr",result="error"} 2',
  ])
})

test('an allowlisted client: the mailfrom and rcpt plugins\' checks counted as skipped, nothing else', async () => {
  const before = await series('support_codes_checks_total')
  await session(ALLOWED, '<>', '<someone@example.com>')
  const now = await series('support_codes_checks_total')
  assert.deepEqual(now.filter((l) => !before.includes(l)), [
    'support_codes_checks_total{check="null_sender",result="skip"} 1',
    'support_codes_checks_total{check="sender_blocks",result="skip"} 1',
  ])
  assert.equal(now.length, before.length + 2)
  // its PTR answered: no more DNS errors
  assert.deepEqual(await series('support_codes_dependency_errors_total'), ['support_codes_dependency_errors_total{dependency="dns"} 2'])
})
