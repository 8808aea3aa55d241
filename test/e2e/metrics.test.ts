// End to end: support-codes.ini [metrics] listen serves the bundle's metrics
// from a real Haraka: a G34 refused, a G34 in monitor mode, and only
// GET /metrics answered.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Haraka } from '../rig/haraka'
import { TestDns } from '../rig/dns-server'
import { SmtpClient } from '../rig/smtp-client'
import { freePort } from '../rig/ports'
import { waitFor } from '../rig/wait'

const G34 = '550 5.0.0 Sender is not allowed to send with empty mail_from'
const CLIENT = '198.18.0.7'

let dns: TestDns

before(async () => {
  dns = await TestDns.start({
    records: {
      '*.18.198.in-addr.arpa': [{ type: 'PTR', data: 'client.sender.example' }],
      'client.sender.example': [{ type: 'A', data: CLIENT }],
    },
  })
})
after(async () => { await dns.stop() })

/** A node serving metrics on a free loopback port; `mailfrom` is its support-codes-mailfrom.ini. */
async function node(mailfrom = ''): Promise<{ h: Haraka; url: string }> {
  const port = await freePort()
  const h = await Haraka.start({
    dns: dns.address,
    config: { 'support-codes.ini': `[metrics]\nlisten=127.0.0.1:${port}\n`, 'support-codes-mailfrom.ini': mailfrom },
  })
  const url = `http://127.0.0.1:${port}/metrics`
  await waitFor('the metrics listener', async () => (await fetch(url).catch(() => undefined))?.status === 200)
  return { h, url }
}

async function mailFrom(h: Haraka, from: string): Promise<string> {
  const c = await SmtpClient.connect({ port: h.port, proxyFrom: CLIENT })
  try {
    await c.ehlo('client.sender.example')
    return (await c.send(`MAIL FROM:${from}`)).text
  } finally {
    c.close()
  }
}

async function series(url: string): Promise<string[]> {
  const res = await fetch(url)
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  return (await res.text()).split('\n').filter((l) => l !== '' && !l.startsWith('#'))
}

describe('[metrics] listen', () => {
  let refusing: { h: Haraka; url: string }
  let monitoring: { h: Haraka; url: string }
  before(async () => {
    refusing = await node()
    monitoring = await node('[null_sender]\nmonitor=true\n')
  })
  after(async () => {
    await refusing.h.stop()
    await monitoring.h.stop()
  })

  test('a refused G34 is one series, by code, phase and action', async () => {
    assert.equal(await mailFrom(refusing.h, '<>'), G34)
    const lines = await series(refusing.url)
    assert.ok(lines.includes('support_codes_replies_total{code="G34",phase="mailfrom",action="refused"} 1'), lines.join('\n'))
    assert.ok(lines.includes('support_codes_checks_total{check="null_sender",result="fire"} 1'), lines.join('\n'))
    assert.ok(lines.some((l) => /^support_codes_check_seconds_count\{phase="mailfrom"\} [1-9]\d*$/.test(l)), lines.join('\n'))
    assert.equal(lines.filter((l) => l.startsWith('support_codes_replies_total')).length, 1)
  })

  test('a G34 in monitor mode is counted as monitor, and the sender is accepted', async () => {
    assert.match(await mailFrom(monitoring.h, '<>'), /^250 /)
    const lines = await series(monitoring.url)
    assert.ok(lines.includes('support_codes_replies_total{code="G34",phase="mailfrom",action="monitor"} 1'), lines.join('\n'))
    assert.equal(lines.filter((l) => l.startsWith('support_codes_replies_total')).length, 1)
  })

  test('only GET /metrics is served', async () => {
    assert.equal((await fetch(refusing.url.replace('/metrics', '/'))).status, 404)
    assert.equal((await fetch(refusing.url.replace('/metrics', '/metrics/x'))).status, 404)
    const post = await fetch(refusing.url, { method: 'POST', body: 'x' })
    assert.equal(post.status, 405)
    assert.equal(post.headers.get('allow'), 'GET')
  })
})
