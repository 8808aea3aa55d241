// End to end: the bundle's metrics through Haraka's own HTTP server
// (http.ini listen, express), in one process and in cluster mode, where one
// scrape (at a worker's HTTP server or at the master's [metrics] listener)
// returns the sum over the workers.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Haraka, HarakaOptions } from '../rig/haraka'
import { TestDns } from '../rig/dns-server'
import { SmtpClient } from '../rig/smtp-client'
import { freePort } from '../rig/ports'

const G34 = '550 5.0.0 Sender is not allowed to send with empty mail_from'
const CLIENT = '198.18.0.7'
// One client address per connection in cluster mode (see there).
const CLIENTS = ['198.18.0.7', '198.18.0.8', '198.18.0.9', '198.18.0.10', '198.18.0.11', '198.18.0.12']
const REFUSED = 'support_codes_replies_total{code="G34",phase="mailfrom",action="refused"}'

let dns: TestDns

before(async () => {
  dns = await TestDns.start({
    records: {
      '*.18.198.in-addr.arpa': [{ type: 'PTR', data: 'client.sender.example' }],
      'client.sender.example': CLIENTS.map((ip) => ({ type: 'A', data: ip })),
    },
  })
})
after(async () => { await dns.stop() })

/** A node with Haraka's HTTP server on a free loopback port; its /metrics URL. */
async function node(opts: HarakaOptions = {}): Promise<{ h: Haraka; url: string }> {
  const port = await freePort()
  const h = await Haraka.start({ dns: dns.address, ...opts, config: { 'http.ini': `listen=127.0.0.1:${port}\n`, ...opts.config } })
  return { h, url: `http://127.0.0.1:${port}/metrics` }
}

async function open(h: Haraka, from = CLIENT): Promise<SmtpClient> {
  const c = await SmtpClient.connect({ port: h.port, proxyFrom: from })
  assert.equal(c.greeting.code, 220, c.greeting.text)
  await c.ehlo('client.sender.example')
  return c
}

async function refuse(h: Haraka, from = CLIENT, c?: SmtpClient): Promise<void> {
  c ??= await open(h, from)
  try {
    assert.equal((await c.send('MAIL FROM:<>')).text, G34)
  } finally {
    c.close()
  }
}

/** One scrape: its sample lines (no comments). */
async function scrape(url: string): Promise<string[]> {
  const res = await fetch(url)
  const text = await res.text()
  assert.equal(res.status, 200, text)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))
}

describe('http.ini listen, one process', () => {
  let n: { h: Haraka; url: string }
  before(async () => {
    n = await node()
    await n.h.waitForLog(/metrics served at GET \/metrics of Haraka's HTTP server/)
  })
  after(async () => { await n.h.stop() })

  test('GET /metrics serves the series after a refused G34', async () => {
    await refuse(n.h)
    const lines = await scrape(n.url)
    assert.ok(lines.includes(`${REFUSED} 1`), lines.join('\n'))
    assert.ok(lines.includes('support_codes_checks_total{check="null_sender",result="fire"} 1'), lines.join('\n'))
    assert.deepEqual(lines.filter((l) => l.startsWith('support_codes_replies_total')), [`${REFUSED} 1`])
  })

  test('no other path of ours: Haraka answers them as before', async () => {
    for (const p of ['/metrics/', '/metrics/x', '/METRICS', '/support-codes', '/support-codes/metrics']) {
      const res = await fetch(n.url.replace('/metrics', p))
      assert.deepEqual([p, res.status], [p, 404])
      assert.doesNotMatch(await res.text(), /support_codes_/)
    }
    const post = await fetch(n.url, { method: 'POST', body: 'x' })
    assert.equal(post.status, 405)
    assert.equal(post.headers.get('allow'), 'GET')
  })
})

describe('cluster mode (smtp.ini nodes=2)', () => {
  const SENT = 6
  let n: { h: Haraka; url: string }
  let listenerUrl: string
  before(async () => {
    const port = await freePort()
    listenerUrl = `http://127.0.0.1:${port}/metrics`
    n = await node({
      nodes: 2,
      config: {
        'support-codes.ini': `[metrics]\nlisten=127.0.0.1:${port}\n`,
        // One connection per client address and worker: the memory store
        // counts in each worker alone (below).
        'support-codes-connect.ini': '[concurrency]\nmax=1\n',
      },
    })
    // Both workers serve SMTP and HTTP before the first connection.
    await n.h.waitForLog(/(metrics served at GET \/metrics of Haraka's HTTP server[\s\S]*){2}/, 10000)
    await n.h.waitForLog(/worker 1 listening[\s\S]*worker 2 listening|worker 2 listening[\s\S]*worker 1 listening/, 10000)
  })
  after(async () => { await n.h.stop() })

  test('one scrape returns the sum over both workers, at a worker\'s HTTP server and at the master\'s listener', async () => {
    // Two connections open at once from one address, with at most one per
    // address: both greeted, so each is in another worker (each worker
    // counts its own in its memory store). Each gets a G34.
    const [a, b] = [await open(n.h, CLIENTS[0]), await open(n.h, CLIENTS[0])]
    await refuse(n.h, CLIENTS[0], a)
    await refuse(n.h, CLIENTS[0], b)
    // More, one address each (the master hands them to the workers in turn).
    for (const ip of CLIENTS.slice(1, SENT - 1)) await refuse(n.h, ip)
    for (const url of [n.url, listenerUrl]) {
      const lines = await scrape(url)
      assert.deepEqual(lines.filter((l) => l.startsWith('support_codes_replies_total')), [`${REFUSED} ${SENT}`], url)
      assert.ok(lines.includes(`support_codes_checks_total{check="null_sender",result="fire"} ${SENT}`), lines.join('\n'))
    }
  })
})
