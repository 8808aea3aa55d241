// End to end with a real Prometheus: it scrapes a real Haraka's /metrics
// (Haraka's own HTTP server) on loopback; mail gets G34 and G8/G9 refused
// and G14 in monitor mode; Prometheus's HTTP API then gives these series
// with exactly these values.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Haraka } from '../rig/haraka'
import { TestDns } from '../rig/dns-server'
import { Prometheus, Sample } from '../rig/prometheus'
import { SmtpClient } from '../rig/smtp-client'
import { freePort } from '../rig/ports'

const CLIENT = '198.18.0.7'
const G34 = '550 5.0.0 Sender is not allowed to send with empty mail_from'
const G8 = '550 5.1.1 alice@example.com: Email address could not be found, or was misspelled (G8, G9)'

let dns: TestDns
let h: Haraka
let prom: Prometheus

before(async () => {
  dns = await TestDns.start({
    records: {
      '*.18.198.in-addr.arpa': [{ type: 'PTR', data: 'client.sender.example' }],
      'client.sender.example': [{ type: 'A', data: CLIENT }],
      'sender.example': [{ type: 'MX', data: { preference: 10, exchange: 'mx.sender.example' } }],
      'mx.sender.example': [{ type: 'A', data: '198.51.100.25' }],
      'bad.example': [{ type: 'MX', data: { preference: 10, exchange: 'mx1.badprovider.net' } }],
      'mx1.badprovider.net': [{ type: 'A', data: '203.0.113.50' }],
    },
  })
  const http = await freePort()
  h = await Haraka.start({
    dns: dns.address,
    config: {
      'http.ini': `listen=127.0.0.1:${http}\n`,
      'support-codes-rcpt.ini': '[sender_mx]\nmonitor=true\n\n[recipients]\ndomains=example.com\n',
      'support-codes.mx_blocklist': '.badprovider.net\n',
      'support-codes.recipients': 'bob@example.com\n',
    },
  })
  await h.waitForLog(/metrics served at GET \/metrics of Haraka's HTTP server/)
  prom = await Prometheus.start({ targets: [`127.0.0.1:${http}`], scrapeIntervalMs: 500 })
})
after(async () => {
  await prom?.stop()
  await h?.stop()
  await dns.stop()
})

/** One SMTP session from the client: each command's reply line. */
async function session(commands: string[]): Promise<string[]> {
  const c = await SmtpClient.connect({ port: h.port, proxyFrom: CLIENT })
  try {
    await c.ehlo('client.sender.example')
    const replies: string[] = []
    for (const line of commands) replies.push((await c.send(line)).text)
    return replies
  } finally {
    c.close()
  }
}

/** The samples as `labels value` lines, sorted, without Prometheus's own job and instance labels. */
function lines(samples: Sample[]): string[] {
  return samples.map((s) => {
    const labels = Object.entries(s.metric)
      .filter(([k]) => k !== 'job' && k !== 'instance' && k !== '__name__')
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    return `{${labels.join(',')}} ${s.value}`
  }).sort()
}

describe('Prometheus scraping the node', () => {
  test('G34 and G8/G9 refused and G14 in monitor mode, as Prometheus has them', async () => {
    assert.deepEqual(await session(['MAIL FROM:<>']), [G34])
    assert.deepEqual(await session(['MAIL FROM:<a@sender.example>', 'RCPT TO:<alice@example.com>']), ['250 sender <a@sender.example> OK', G8])
    // G14 would refuse the sender's MX; in monitor mode the recipient is accepted.
    assert.deepEqual(await session(['MAIL FROM:<a@bad.example>', 'RCPT TO:<bob@example.com>']), ['250 sender <a@bad.example> OK', '250 recipient <bob@example.com> OK'])

    await prom.waitForScrape()
    assert.deepEqual(lines(await prom.query('support_codes_replies_total')), [
      '{action="monitor",code="G14",phase="rcpt"} 1',
      '{action="refused",code="G34",phase="mailfrom"} 1',
      '{action="refused",code="G8/G9",phase="rcpt"} 1',
    ])
    assert.deepEqual(lines(await prom.query('support_codes_checks_total{result="fire"}')), [
      '{check="null_sender",result="fire"} 1',
      '{check="recipients",result="fire"} 1',
      '{check="sender_mx",result="fire"} 1',
    ])
    // The share of monitor-mode would-refuses among the decisions (docs/metrics.md, over the totals here).
    assert.deepEqual(lines(await prom.query('sum(support_codes_replies_total{action="monitor"}) / sum(support_codes_replies_total)')), [`{} ${1 / 3}`])
    // One observation of the RCPT checks' time per RCPT command.
    assert.deepEqual(lines(await prom.query('support_codes_check_seconds_count{phase="rcpt"}')), ['{phase="rcpt"} 2'])
  })
})
