// GET /metrics on Haraka's own HTTP server (http.ini listen): Haraka builds
// an express app and hands it to the plugins' init_http hook. The route is
// one middleware in front of Haraka's own (its static files and 404): it
// takes exactly GET /metrics and passes every other path on untouched.
import * as http from 'node:http'
import { answerMetrics, METRICS_PATH, pathOf } from './answer'
import { BundleMetrics } from './bundle-metrics'

/** The name the route serves the metrics by (BundleMetrics.serve). */
const BY = 'http'

/** The part of an express app the route uses. */
export interface HttpApp {
  use(handler: (req: http.IncomingMessage, res: http.ServerResponse, next: () => void) => void): unknown
}

/** Haraka's Server object as init_http hands it over: `http.app` once its HTTP server listens. */
export interface HarakaHttpServer {
  http?: { app?: HttpApp }
}

/**
 * Registers the route on Haraka's app, if it has one, and turns recording
 * on for good (the app lives as long as the process). True when registered.
 */
export function serveOnHarakaHttp(server: HarakaHttpServer, metrics: BundleMetrics): boolean {
  const app = server.http?.app
  if (!app) return false
  app.use((req, res, next) => {
    if (pathOf(req) !== METRICS_PATH) return next()
    answerMetrics(metrics, req, res)
  })
  metrics.serve(BY)
  return true
}
