// A private Prometheus for the tests of the metrics: loopback only, a free
// port, its config and data in a temp folder, scraping only the targets the
// test names. Nothing leaves the machine: no remote write or read, no
// alerting, no external URL. The system's prometheus service (port 9090) is
// never used.

import * as fs from 'node:fs'
import * as http from 'node:http'
import * as os from 'node:os'
import * as path from 'node:path'
import { freePort } from './ports'
import { RigServer } from './rig-server'
import { waitFor } from './wait'

const HOST = '127.0.0.1'
const JOB = 'support-codes'
const REQUEST_TIMEOUT_MS = 5_000
// The API answers of a test's few series are small; a larger one is a bug.
const BODY_LIMIT = 4 * 1024 * 1024

const PROMETHEUS_BIN = fs.existsSync('/usr/bin/prometheus') ? '/usr/bin/prometheus' : 'prometheus'

export type Sample = { metric: Record<string, string>; value: number }

type Target = { labels?: Record<string, string>; health?: string; lastScrape?: string; lastError?: string }

// Prometheus writes special values as Go spells them.
function sampleValue(s: string): number {
  if (s === '+Inf') return Infinity
  if (s === '-Inf') return -Infinity
  return Number(s)
}

function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path: urlPath, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (d: Buffer) => {
        size += d.length
        if (size > BODY_LIMIT) {
          req.destroy(new Error(`prometheus GET ${urlPath}: answer larger than ${BODY_LIMIT} bytes`))
          return
        }
        chunks.push(d)
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`prometheus GET ${urlPath}: no answer in ${REQUEST_TIMEOUT_MS} ms`)))
    req.on('error', reject)
  })
}

export class Prometheus extends RigServer {
  readonly host = HOST
  readonly port: number

  private constructor(
    dir: string,
    port: number,
    private readonly targets: string[],
    private readonly scrapeIntervalMs: number,
  ) {
    super(dir)
    this.port = port
  }

  /**
   * Starts Prometheus scraping `targets` (host:port, loopback) every
   * `scrapeIntervalMs` at `metricsPath`, as the job "support-codes", and
   * waits until it is ready.
   */
  static async start(opts: { targets: string[]; scrapeIntervalMs?: number; metricsPath?: string }): Promise<Prometheus> {
    const interval = opts.scrapeIntervalMs ?? 500
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rig-prometheus-'))
    try {
      // JSON strings are YAML strings, so any target or path is quoted safely.
      // The scrape timeout may not exceed the interval (the default 10 s would).
      const config = [
        'global:',
        `  scrape_interval: ${interval}ms`,
        `  scrape_timeout: ${interval}ms`,
        `  evaluation_interval: ${interval}ms`,
        'scrape_configs:',
        `  - job_name: ${JSON.stringify(JOB)}`,
        `    metrics_path: ${JSON.stringify(opts.metricsPath ?? '/metrics')}`,
        '    static_configs:',
        `      - targets: ${JSON.stringify(opts.targets)}`,
        '',
      ].join('\n')
      fs.writeFileSync(path.join(dir, 'prometheus.yml'), config)
      const prom = new Prometheus(dir, await freePort(HOST), opts.targets, interval)
      await prom.launch()
      return prom
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true })
      throw err
    }
  }

  protected async launch(): Promise<void> {
    await this.spawnAndWait('prometheus', PROMETHEUS_BIN, [
      `--config.file=${path.join(this.dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(this.dir, 'data')}`,
      `--web.listen-address=${HOST}:${this.port}`,
      // Lets a test reload a changed prometheus.yml with POST /-/reload.
      '--web.enable-lifecycle',
    ])
  }

  protected async ping(): Promise<boolean> {
    try {
      return (await get(this.port, '/-/ready')).status === 200
    } catch {
      return false
    }
  }

  private async api(urlPath: string): Promise<unknown> {
    const res = await get(this.port, urlPath)
    let parsed: { status?: string; data?: unknown; errorType?: string; error?: string }
    try {
      parsed = JSON.parse(res.body) as typeof parsed
    } catch {
      throw new Error(`prometheus GET ${urlPath}: HTTP ${res.status}, not JSON: ${res.body.slice(0, 200)}`)
    }
    if (parsed.status !== 'success') {
      throw new Error(`prometheus GET ${urlPath}: HTTP ${res.status}, ${parsed.errorType ?? parsed.status}: ${parsed.error ?? ''}`)
    }
    return parsed.data
  }

  /** The instant vector `promql` evaluates to now; anything else throws. */
  async query(promql: string): Promise<Sample[]> {
    const data = (await this.api(`/api/v1/query?query=${encodeURIComponent(promql)}`)) as {
      resultType: string
      result: Array<{ metric: Record<string, string>; value: [number, string] }>
    }
    if (data.resultType !== 'vector') throw new Error(`prometheus query ${promql}: a ${data.resultType}, not an instant vector`)
    return data.result.map((r) => ({ metric: r.metric, value: sampleValue(r.value[1]) }))
  }

  /**
   * Resolves once every target (at least `targetCount`, by default all the
   * configured ones) is up and has been scraped since this call, with the
   * samples of that scrape queryable: values a test reads afterwards are
   * what the targets served after it acted.
   */
  async waitForScrape(targetCount = this.targets.length): Promise<void> {
    const since = Date.now()
    const limit = Math.max(10_000, 10 * this.scrapeIntervalMs)
    let seen = 'no answer yet'
    await waitFor(
      `${targetCount} target(s) up and scraped`,
      async () => {
        const data = (await this.api('/api/v1/targets?state=active')) as { activeTargets: Target[] }
        const targets = data.activeTargets
        seen = JSON.stringify(targets.map((t) => ({ instance: t.labels?.instance, health: t.health, lastScrape: t.lastScrape, lastError: t.lastError })))
        return (
          targets.length >= targetCount &&
          targets.every((t) => t.health === 'up' && t.lastScrape !== undefined && Date.parse(t.lastScrape) > since)
        )
      },
      limit,
      50,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; targets: ${seen}`, { cause: err })
    })
    // The targets page is updated a moment before the scrape's samples are
    // committed; `up` is committed with them, stamped with the scrape's time.
    // (timestamp() gives a sample's own time only for a plain selector.)
    await waitFor(
      'the scraped samples to be queryable',
      async () => {
        const stamps = await this.query(`timestamp(up{job=${JSON.stringify(JOB)}})`)
        return stamps.length >= targetCount && stamps.every((s) => s.value * 1000 >= since)
      },
      limit,
      50,
    )
  }
}
