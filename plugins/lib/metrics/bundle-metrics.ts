// The bundle's metrics of one Haraka process, on a registry of its own (not
// prom-client's global one, which other code in the process may fill). Names
// and labels are part of the contract (CONFIG.md, docs/metrics.md).
//
// Off (nothing serves them) they cost one boolean test per call: no label
// lookups, no prom-client calls. On while at least one server serves them:
// the own listener, Haraka's HTTP route, or (in a cluster worker) the
// master's listener; each says so with serve() and unserve().
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { Phase } from '../codes/catalog'
import { Exposition, joinCluster, scrape } from './cluster'

export type ReplyAction = 'refused' | 'deferred' | 'monitor'
export type CheckResult = 'pass' | 'fire' | 'skip' | 'error'
export type Dependency = 'dns' | 'redis' | 'clamd' | 'callout'

/** Seconds: from a cached answer (1 ms) to a scan or a callout near its timeout (10 s). */
export const CHECK_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export class BundleMetrics {
  readonly registry = new Registry()
  constructor() {
    // In a cluster, the master sums this registry with the other workers'.
    joinCluster(this.registry)
  }

  /** Who serves the registry now ('listener', 'http', ...). */
  private readonly servedBy = new Set<string>()
  private on = false

  /** True while something serves the registry; every record method returns at once when false. */
  get enabled(): boolean {
    return this.on
  }

  /** `by` serves the registry from now on: recording is on. Idempotent per name. */
  serve(by: string): void {
    this.servedBy.add(by)
    this.on = true
  }

  /** `by` no longer serves it: recording stays on while anyone else does. */
  unserve(by: string): void {
    this.servedBy.delete(by)
    this.on = this.servedBy.size > 0
  }

  private readonly replies = new Counter({
    name: 'support_codes_replies_total',
    help: 'Replies decided by the bundle, by catalog id, phase and action (refused 5xx, deferred 4xx, monitor: would have been sent)',
    labelNames: ['code', 'phase', 'action'] as const,
    registers: [this.registry],
  })

  private readonly checks = new Counter({
    name: 'support_codes_checks_total',
    help: 'Checks run, by config section and result',
    labelNames: ['check', 'result'] as const,
    registers: [this.registry],
  })

  private readonly seconds = new Histogram({
    name: 'support_codes_check_seconds',
    help: 'Seconds one plugin spent on its checks at an SMTP command, by phase',
    labelNames: ['phase'] as const,
    buckets: CHECK_SECONDS_BUCKETS,
    registers: [this.registry],
  })

  private readonly dependencyErrors = new Counter({
    name: 'support_codes_dependency_errors_total',
    help: 'Failures of a service the checks depend on',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  })

  private readonly scanQueue = new Gauge({
    name: 'support_codes_scan_thread_queue',
    help: 'Archive scans waiting for a worker thread',
    registers: [this.registry],
  })

  private readonly storeFailOpen = new Counter({
    name: 'support_codes_store_fail_open_total',
    help: 'Checks that let the mail through because the counter store did not answer in time',
    registers: [this.registry],
  })

  reply(code: string, phase: Phase, action: ReplyAction): void {
    if (!this.enabled) return
    this.replies.inc({ code, phase, action })
  }

  check(check: string, result: CheckResult): void {
    if (!this.enabled) return
    this.checks.inc({ check, result })
  }

  checkSeconds(phase: Phase, seconds: number): void {
    if (!this.enabled) return
    this.seconds.observe({ phase }, seconds)
  }

  dependencyError(dependency: Dependency): void {
    if (!this.enabled) return
    this.dependencyErrors.inc({ dependency })
  }

  scanThreadQueue(waiting: number): void {
    if (!this.enabled) return
    this.scanQueue.set(waiting)
  }

  storeFailedOpen(): void {
    if (!this.enabled) return
    this.storeFailOpen.inc()
  }

  /** This process's own series: the exposition text and its Content-Type. */
  async exposition(): Promise<Exposition> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() }
  }

  /** What a scrape served by this process gets: its own series, or in cluster mode the sum over the workers (cluster.ts). */
  scrape(): Promise<Exposition> {
    return scrape(this.registry)
  }
}
