// The bundle's own /metrics listener (support-codes.ini [metrics] listen),
// for nodes that do not run Haraka's HTTP server. One per Haraka process:
// the plugins hand it the setting at every (re)load, an unchanged value
// keeps the server, a changed one restarts it, empty closes it.
import * as http from 'node:http'
import { BundleMetrics } from './bundle-metrics'

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

  constructor(private readonly metrics: BundleMetrics) {}

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
    this.metrics.enabled = true
    const server = http.createServer((req, res) => this.answer(req, res))
    // A scraper sends a few hundred bytes: a client that dawdles is dropped.
    server.headersTimeout = 5000
    server.requestTimeout = 10000
    // Haraka's own exit is not held up by an open scrape port.
    server.unref()
    server.on('error', (err: NodeJS.ErrnoException) => {
      // Logged once for this value; Haraka goes on without the listener.
      log.logerror(`metrics listener on ${value} failed (${err.code ?? err.message}); metrics are not served there`)
      if (this.server === server) this.server = undefined
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
    this.metrics.enabled = false
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? ''
    const q = url.indexOf('?')
    const path = q < 0 ? url : url.slice(0, q)
    if (path !== '/metrics') return plain(res, 404, 'not found\n')
    if (req.method !== 'GET') {
      res.setHeader('Allow', 'GET')
      return plain(res, 405, 'method not allowed\n')
    }
    this.metrics.exposition().then(
      ({ contentType, text }) => {
        res.writeHead(200, { 'Content-Type': contentType })
        res.end(text)
      },
      () => plain(res, 500, 'metrics failed\n'),
    )
  }
}

function plain(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' })
  res.end(body)
}
