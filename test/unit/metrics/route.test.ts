// GET /metrics on an express app as Haraka builds it for http.ini listen:
// the route answers exactly GET /metrics and hands every other path on to
// the app's own handlers (Haraka's static files and 404).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as http from 'node:http'
import { createRequire } from 'node:module'
import { BundleMetrics } from '../../../plugins/lib/metrics/bundle-metrics'
import { HttpApp, serveOnHarakaHttp } from '../../../plugins/lib/metrics/route'

// express, as Haraka loads it (a dev dependency here; it ships no types).
const express = createRequire(__filename)('express') as () => HttpApp & http.RequestListener

test('the route serves the scrape, 405 to another method on /metrics, and passes other paths on', async (t) => {
  const app = express()
  const metrics = new BundleMetrics()
  assert.equal(serveOnHarakaHttp({ http: { app } }, metrics), true)
  assert.equal(metrics.enabled, true)
  // What Haraka puts after the plugins' routes.
  app.use((_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(404)
    res.end('haraka 404')
  })
  const server = http.createServer(app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => server.close())
  const port = (server.address() as { port: number }).port
  const base = `http://127.0.0.1:${port}`

  metrics.reply('G34', 'mailfrom', 'refused')
  const res = await fetch(`${base}/metrics?x=1`)
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('content-type'), metrics.registry.contentType)
  assert.match(await res.text(), /^support_codes_replies_total\{code="G34",phase="mailfrom",action="refused"\} 1$/m)

  for (const p of ['/', '/metrics/', '/metrics/x', '/METRICS', '/%6detrics', '/support-codes']) {
    const other = await fetch(`${base}${p}`)
    assert.deepEqual([p, other.status, await other.text()], [p, 404, 'haraka 404'])
  }
  const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' })
  assert.equal(post.status, 405)
  assert.equal(post.headers.get('allow'), 'GET')
})

test('no HTTP server (http.ini listen unset): nothing is registered and recording stays off', () => {
  const metrics = new BundleMetrics()
  assert.equal(serveOnHarakaHttp({}, metrics), false)
  assert.equal(serveOnHarakaHttp({ http: {} }, metrics), false)
  assert.equal(metrics.enabled, false)
})
