// A scraper for the metrics case: GET /metrics on a node's own listener at
// once (as Prometheus does when a target appears) and then every 5 s, as with
// the common scrape interval, so that the
// case measures serving the page as well as recording into it. The body is
// read to its end and dropped; a scrape that fails is kept for the runner.
import * as http from 'node:http'

export const SCRAPE_INTERVAL_MS = 5000

export class Scraper {
  /** Scrapes answered 200 with a body. */
  count = 0
  /** What went wrong, per failed scrape. */
  readonly errors: string[] = []
  /** Bytes of the last page. */
  lastBytes = 0
  private timer: NodeJS.Timeout | undefined
  private busy = false

  private constructor(private readonly url: string) {}

  static start(url: string, intervalMs = SCRAPE_INTERVAL_MS): Scraper {
    const s = new Scraper(url)
    s.once()
    s.timer = setInterval(() => s.once(), intervalMs)
    return s
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private once(): void {
    // A scrape still running is not doubled (Prometheus does not either).
    if (this.busy) return
    this.busy = true
    const fail = (why: string): void => {
      if (this.errors.length < 10) this.errors.push(why)
      this.busy = false
    }
    const req = http.get(this.url, { timeout: 10000 }, (res) => {
      let bytes = 0
      res.on('data', (d: Buffer) => (bytes += d.length))
      res.on('end', () => {
        if (res.statusCode !== 200 || !bytes) return fail(`${this.url}: status ${res.statusCode}, ${bytes} bytes`)
        this.count++
        this.lastBytes = bytes
        this.busy = false
      })
      res.on('error', (e) => fail(`${this.url}: ${e.message}`))
    })
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')))
    req.on('error', (e) => fail(`${this.url}: ${e.message}`))
  }
}
