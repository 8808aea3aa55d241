// The bundle's own /metrics listener (support-codes.ini [metrics] listen),
// for nodes that do not run Haraka's HTTP server. One per Haraka process:
// the plugins hand it the setting at every (re)load, an unchanged value
// keeps the server, a changed one restarts it, empty closes it.
//
// In cluster mode (smtp.ini nodes=N) only the master listens, and serves the
// sum over the workers (cluster.ts); a worker binds nothing and records
// while the setting is on, for the master to read.
import cluster from 'node:cluster'
import * as http from 'node:http'
import { answerMetrics, METRICS_PATH, pathOf, plain } from './answer'
import { BundleMetrics } from './bundle-metrics'

/** The name the listener serves the metrics by (BundleMetrics.serve). */
const BY = 'listener'

export interface ListenerLog {
  loginfo(message: string): void
  logerror(message: string): void
}

export interface ListenAddress {
  host: string
  port: number
}

/** `host:port` (an IPv6 host in brackets); undefined when it is not one. */
export function parseListen(listen: string): ListenAddress | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(listen)
  if (!m) return undefined
  const port = Number(m[3])
  if (port < 1 || port > 65535) return undefined
  return { host: m[1] ?? m[2], port }
}

export class MetricsListener {
  private server: http.Server | undefined
  private listen = ''

  constructor(
    private readonly metrics: BundleMetrics,
    /** A cluster worker: the master listens for it. */
    private readonly inWorker = cluster.isWorker,
  ) {}

  /** The address the server is bound to, once it listens (a test asks for the port). */
  address(): ListenAddress | undefined {
    const a = this.server?.address()
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined
  }

  /** Applies [metrics] listen: starts, restarts or closes the server as the value says. */
  apply(listen: string, log: ListenerLog): void {
    const value = listen.trim()
    if (value === this.listen) return
    this.close()
    this.listen = value
    if (value === '') return
    const at = parseListen(value)
    if (!at) {
      log.logerror(`support-codes.ini [metrics] listen: "${value}" is not host:port; metrics are off`)
      return
    }
    this.metrics.serve(BY)
    if (this.inWorker) return
    const server = http.createServer((req, res) => this.answer(req, res))
    // A scraper sends a few hundred bytes: a client that dawdles is dropped.
    server.headersTimeout = 5000
    server.requestTimeout = 10000
    // Haraka's own exit is not held up by an open scrape port.
    server.unref()
    server.on('error', (err: NodeJS.ErrnoException) => {
      // Logged once for this value; Haraka goes on without the listener.
      log.logerror(`metrics listener on ${value} failed (${err.code ?? err.message}); metrics are not served there`)
      if (this.server === server) {
        this.server = undefined
        this.metrics.unserve(BY)
      }
      server.close()
    })
    server.listen(at.port, at.host, () => log.loginfo(`metrics served at http://${value}/metrics`))
    this.server = server
  }

  /** Closes the server (shutdown, or [metrics] listen emptied). */
  close(): void {
    this.server?.close()
    this.server?.closeAllConnections()
    this.server = undefined
    this.listen = ''
    this.metrics.unserve(BY)
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (pathOf(req) !== METRICS_PATH) return plain(res, 404, 'not found\n')
    answerMetrics(this.metrics, req, res)
  }
}
