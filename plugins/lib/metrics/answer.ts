// The answer to an HTTP request for the metrics, the same on the own
// listener and on Haraka's HTTP server: GET /metrics only.
import * as http from 'node:http'
import { BundleMetrics } from './bundle-metrics'

export const METRICS_PATH = '/metrics'

/** The request's path without its query: exactly METRICS_PATH is ours. */
export function pathOf(req: http.IncomingMessage): string {
  const url = req.url ?? ''
  const q = url.indexOf('?')
  return q < 0 ? url : url.slice(0, q)
}

/** Answers a request for METRICS_PATH: the scrape to GET, 405 to any other method. */
export function answerMetrics(metrics: BundleMetrics, req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.method !== 'GET') {
    res.setHeader('Allow', 'GET')
    return plain(res, 405, 'method not allowed\n')
  }
  metrics.scrape().then(
    ({ contentType, text }) => {
      res.writeHead(200, { 'Content-Type': contentType })
      res.end(text)
    },
    // In cluster mode: the master did not sum the workers in time.
    () => plain(res, 503, 'metrics not available\n'),
  )
}

export function plain(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' })
  res.end(body)
}
