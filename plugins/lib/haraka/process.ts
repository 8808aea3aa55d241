// What the four plugins share in one Haraka process, as one object: the
// counter store (one Redis connection), the DNS front-ends and their answer
// cache, the per-code counts, the problems already named in the log, and
// which plugin advertises the extension at EHLO. Each plugin instance
// reaches it through its supportCodes field, set in register(); a test gives
// its plugins a fresh one.
import { CodeCounters } from '../codes/counters'
import { DnsRegistry } from '../dns/registry'
import { BundleMetrics } from '../metrics/bundle-metrics'
import { MetricsListener } from '../metrics/listener'
import { StoreRegistry } from '../store'
import { HarakaPlugin } from './types'

/**
 * The process's counters, also counted in the metrics: the store's fail-open
 * path, which the Redis store takes once per command Redis failed (so it is
 * also that command's dependency error). The other services count their
 * failures where they happen (BundleProcess below), not on the fail-open
 * paths, so that a failure is counted once whatever the check's setting.
 */
class MeteredCounters extends CodeCounters {
  constructor(private readonly metrics: BundleMetrics) {
    super()
  }

  override countFailOpen(path: string): number {
    if (path === 'store' && this.metrics.enabled) {
      this.metrics.storeFailedOpen()
      this.metrics.dependencyError('redis')
    }
    return super.countFailOpen(path)
  }
}

export class BundleProcess {
  /** The counter store; the Redis store counts what it lets through in this process's counters. */
  readonly stores: StoreRegistry
  /** The DNS front-ends: the checks' Dns and mailauth's resolver on the same [dns] settings share one answer cache. */
  readonly dns: DnsRegistry
  /** Problems with the settings already logged: each is named once per process, not on every reload. */
  readonly reported = new Set<string>()
  /** The plugin that registered the capabilities hook (hook.ts registerCapabilities). */
  capabilitiesBy: string | undefined

  /** The Prometheus metrics: off (and free) until something serves them. */
  readonly metrics: BundleMetrics
  /** support-codes.ini [metrics] listen: the bundle's own /metrics server. */
  readonly metricsListener: MetricsListener
  readonly counters: CodeCounters
  /** Told once per clamd scan that failed (no connection, timeout, an error answer). */
  readonly clamdFailed: () => void
  /** Told once per callout whose server could not be reached or did not answer in time. */
  readonly calloutFailed: () => void
  /** Told the scans waiting for the scan thread whenever that number changes. */
  readonly scanQueue: (waiting: number) => void

  constructor(counters?: CodeCounters, metrics = new BundleMetrics()) {
    this.metrics = metrics
    this.dns = new DnsRegistry(() => metrics.dependencyError('dns'))
    this.clamdFailed = () => metrics.dependencyError('clamd')
    this.calloutFailed = () => metrics.dependencyError('callout')
    this.scanQueue = (waiting) => metrics.scanThreadQueue(waiting)
    this.metricsListener = new MetricsListener(metrics)
    this.counters = counters ?? new MeteredCounters(metrics)
    this.stores = new StoreRegistry(this.counters)
  }
}

let processWide: BundleProcess | undefined

/** A plugin of the bundle: a Haraka plugin holding the process's shared parts. */
export interface SupportCodesPlugin extends HarakaPlugin {
  supportCodes?: BundleProcess
}

/**
 * The shared parts of a plugin instance: the ones it was given (a test), or
 * this process's, made on first use.
 */
export function processOf(plugin: SupportCodesPlugin): BundleProcess {
  return plugin.supportCodes ?? (processWide ??= new BundleProcess())
}

/** At register(): the plugin instance keeps the shared parts it will use. */
export function joinProcess(plugin: SupportCodesPlugin): BundleProcess {
  plugin.supportCodes = processOf(plugin)
  return plugin.supportCodes
}

/** A plugin of the bundle holding what it made for itself in register() (its settings, ...). */
export interface PluginWith<T> extends SupportCodesPlugin {
  supportCodesInstance?: T
}

/** What the plugin made in register(); a hook run before that is a bug (hook() lets the mail through and logs it). */
export function instanceOf<T>(plugin: PluginWith<T>): T {
  if (plugin.supportCodesInstance === undefined) throw new Error(`${plugin.name}: a hook ran before register()`)
  return plugin.supportCodesInstance
}
