// The own /metrics listener on loopback: what it answers, a changed listen
// restarts it, a port in use is logged once and nothing throws.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as net from 'node:net'
import { BundleMetrics } from '../../../plugins/lib/metrics/bundle-metrics'
import { MetricsListener } from '../../../plugins/lib/metrics/listener'
import { freePort } from '../../rig/ports'
import { waitFor } from '../../rig/wait'

function logs(): { loginfo(m: string): void; logerror(m: string): void; errors: string[] } {
  const errors: string[] = []
  return { loginfo: () => undefined, logerror: (m) => errors.push(m), errors }
}

async function up(url: string): Promise<void> {
  await waitFor(`listener at ${url}`, async () => (await fetch(url).catch(() => undefined))?.status === 200)
}

test('GET /metrics only; a changed listen moves the server, empty closes it and turns recording off', async (t) => {
  const metrics = new BundleMetrics()
  const listener = new MetricsListener(metrics)
  t.after(() => listener.close())
  const log = logs()
  const [a, b] = [await freePort(), await freePort()]
  listener.apply(`127.0.0.1:${a}`, log)
  assert.equal(metrics.enabled, true)
  await up(`http://127.0.0.1:${a}/metrics`)
  metrics.storeFailedOpen()
  const res = await fetch(`http://127.0.0.1:${a}/metrics`)
  assert.equal(res.headers.get('content-type'), metrics.registry.contentType)
  assert.match(await res.text(), /^support_codes_store_fail_open_total 1$/m)
  assert.equal((await fetch(`http://127.0.0.1:${a}/`)).status, 404)
  assert.equal((await fetch(`http://127.0.0.1:${a}/metrics`, { method: 'DELETE' })).status, 405)

  listener.apply(`127.0.0.1:${a}`, log) // unchanged: the same server
  assert.equal(listener.address()?.port, a)
  listener.apply(`127.0.0.1:${b}`, log)
  await up(`http://127.0.0.1:${b}/metrics`)
  assert.equal(await fetch(`http://127.0.0.1:${a}/metrics`).then(() => 'answered', () => 'refused'), 'refused')

  listener.apply('', log)
  assert.equal(metrics.enabled, false)
  assert.deepEqual(log.errors, [])
})

test('a port in use is logged once; the process goes on', async (t) => {
  const taken = net.createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  t.after(() => taken.close())
  const port = (taken.address() as net.AddressInfo).port
  const listener = new MetricsListener(new BundleMetrics())
  t.after(() => listener.close())
  const log = logs()
  listener.apply(`127.0.0.1:${port}`, log)
  await waitFor('the error line', () => log.errors.length > 0)
  listener.apply(`127.0.0.1:${port}`, log) // a reload with the same value: no second try, no second line
  assert.deepEqual(log.errors, [`metrics listener on 127.0.0.1:${port} failed (EADDRINUSE); metrics are not served there`])
})

test('a listen that is not host:port is named and leaves metrics off', () => {
  const metrics = new BundleMetrics()
  const listener = new MetricsListener(metrics)
  const log = logs()
  listener.apply('9465', log)
  assert.equal(metrics.enabled, false)
  assert.deepEqual(log.errors, ['support-codes.ini [metrics] listen: "9465" is not host:port; metrics are off'])
})

test('closing the listener leaves recording on while Haraka\'s HTTP route serves', (t) => {
  const metrics = new BundleMetrics()
  const listener = new MetricsListener(metrics)
  t.after(() => listener.close())
  metrics.serve('http')
  listener.apply('', logs())
  assert.equal(metrics.enabled, true)
  listener.close()
  assert.equal(metrics.enabled, true)
})

test('in a cluster worker the listener binds nothing and records for the master', async () => {
  const metrics = new BundleMetrics()
  const listener = new MetricsListener(metrics, true)
  const port = await freePort()
  listener.apply(`127.0.0.1:${port}`, logs())
  assert.equal(metrics.enabled, true)
  assert.equal(listener.address(), undefined)
  assert.equal(await fetch(`http://127.0.0.1:${port}/metrics`).then(() => 'answered', () => 'refused'), 'refused')
  listener.apply('', logs())
  assert.equal(metrics.enabled, false)
})
