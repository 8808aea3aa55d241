// Checks the rig's Prometheus: it scrapes a loopback target, a query returns
// exactly the served series, and after waitForScrape() a changed value is the
// one Prometheus answers.
import * as http from 'node:http'
import { after, before, describe, it } from 'node:test'
import * as assert from 'node:assert/strict'
import { Prometheus } from './prometheus'

describe('rig Prometheus', () => {
  let count = 3
  let server: http.Server
  let target: string
  let prom: Prometheus

  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end()
        return
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
      res.end(
        '# HELP demo_total Demo counter.\n' +
          '# TYPE demo_total counter\n' +
          `demo_total{code="G34",phase="mailfrom",action="refused"} ${count}\n`,
      )
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const addr = server.address()
    assert.ok(addr && typeof addr === 'object')
    target = `127.0.0.1:${addr.port}`
    prom = await Prometheus.start({ targets: [target], scrapeIntervalMs: 500 })
  })

  after(async () => {
    await prom?.stop()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  const series = (): Record<string, string> => ({
    __name__: 'demo_total',
    action: 'refused',
    code: 'G34',
    instance: target,
    job: 'support-codes',
    phase: 'mailfrom',
  })

  it('returns exactly the served series and value once scraped', async () => {
    await prom.waitForScrape()
    assert.deepEqual(await prom.query('demo_total'), [{ metric: series(), value: 3 }])
  })

  it('returns the new value after the next scrape', async () => {
    count = 7
    await prom.waitForScrape()
    assert.deepEqual(await prom.query('demo_total'), [{ metric: series(), value: 7 }])
  })

  it('throws on a query Prometheus rejects', async () => {
    await assert.rejects(prom.query('demo_total{'), /bad_data/)
  })
})
