// metrics/: the bundle's Prometheus metrics: one prom-client registry per
// Haraka process with the series named in CONFIG.md (bundle-metrics.ts), and
// the optional own listener serving it at /metrics (listener.ts).
//
// May import: codes.
export {}
