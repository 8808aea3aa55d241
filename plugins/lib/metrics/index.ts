// metrics/: the bundle's Prometheus metrics: one prom-client registry per
// Haraka process with the series named in CONFIG.md (bundle-metrics.ts), on
// while something serves it: the optional own listener (listener.ts) or
// GET /metrics on Haraka's own HTTP server (route.ts), both answering alike
// (answer.ts); in cluster mode one scrape is the sum over the workers
// (cluster.ts).
//
// May import: codes.
export {}
