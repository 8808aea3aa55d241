// Loads support-codes.ini and one plugin's own ini through haraka-config:
// the package's config/ holds the defaults, the node's config/ overrides
// them key by key, and a change to either file is picked up without a
// restart (haraka-config's reload callback).
import { HarakaConfig } from './types'
import { SupportCodesPlugin, processOf } from './process'
import { netList, NetList } from '../config/netlist'
import { PACKAGE_ROOT } from '../config/paths'
import { FileName, SHARED_FILE, SettingsOf } from '../config/schema'
import { readSettings } from '../config/settings'
import { CounterStore, RedisTarget, redisTarget } from '../store'
import { Dns } from '../dns/resolver'
import { MailauthResolver } from '../dns/mailauth'

// A bad value is named once per process, not on every reload or connection.
function reportOnce(plugin: SupportCodesPlugin, message: string): void {
  const reported = processOf(plugin).reported
  if (reported.has(message)) return
  reported.add(message)
  plugin.logerror(message)
}

export class PluginConfig<F extends FileName> {
  shared!: SettingsOf<typeof SHARED_FILE>
  own!: SettingsOf<F>
  /** Sections not in the schema (DNS list zones), raw. */
  extra: Record<string, Record<string, unknown>> = {}
  allow!: NetList
  /** Goes up on every (re)load, so plugins can rebuild what they derive from the settings. */
  version = 0
  private cfg!: HarakaConfig
  private reload: () => void = () => undefined
  /** config/me, read at (re)load: reading it per message costs a file check each time. */
  private me = 'localhost'
  /** redis.ini's [cluster], [sentinel] or [server], used when [store] backend=redis. */
  redis!: RedisTarget
  /** store() and dns() for the settings loaded last; load() clears them. */
  private storeNow?: CounterStore
  private dnsNow?: Dns

  /**
   * @param zoneSections names the extra sections a file may have (the DNS
   * list zones of the rcpt file); any other unknown section is reported.
   */
  constructor(
    private readonly plugin: SupportCodesPlugin,
    private readonly file: F,
    private readonly zoneSections: (own: SettingsOf<F>) => readonly string[] = () => [],
    /**
     * live (the plugins): files are watched and reloaded, Redis is connected
     * at load. Off for a one-off reading (support-codes explain).
     */
    private readonly live = true,
  ) {
    this.load()
  }

  load(): void {
    const cfg = this.plugin.config.module_config(PACKAGE_ROOT, process.env.HARAKA)
    const reload = (): void => {
      try {
        this.load()
        this.plugin.loginfo(`reloaded ${SHARED_FILE}, ${this.file} and redis.ini`)
      } catch (err) {
        this.plugin.logerror(`reloading config failed, keeping the previous settings: ${String(err)}`)
      }
    }
    this.cfg = cfg
    this.reload = reload
    const watch = this.live ? reload : undefined
    const shared = readSettings(SHARED_FILE, cfg.get(SHARED_FILE, 'ini', watch) as Record<string, unknown>)
    const own = readSettings(this.file, cfg.get(this.file, 'ini', watch) as Record<string, unknown>)
    for (const p of [...shared.problems, ...own.problems]) reportOnce(this.plugin, p.message)
    for (const section of Object.keys(shared.extra)) {
      reportOnce(this.plugin, `${SHARED_FILE} [${section}] is not a known section; ignored`)
    }
    const zones = this.zoneSections(own.settings)
    for (const section of Object.keys(own.extra)) {
      if (!zones.includes(section)) reportOnce(this.plugin, `${this.file} [${section}] is not a known section; ignored`)
    }

    const allow = netList(shared.settings.main.allow)
    for (const bad of allow.invalid) {
      reportOnce(this.plugin, `${SHARED_FILE} [main] allow: "${bad}" is not an IP address or CIDR; ignored`)
    }
    const me = this.plugin.config.get('me', watch)
    this.me = typeof me === 'string' && me.trim() ? me.trim() : 'localhost'
    this.redis = redisTarget(cfg.get('redis.ini', 'ini', watch) as Record<string, Record<string, unknown>>, (m) => reportOnce(this.plugin, m))
    this.shared = shared.settings
    this.own = own.settings
    this.extra = own.extra
    this.allow = allow
    this.storeNow = undefined
    this.dnsNow = undefined
    this.version++
    // Every (re)load hands [metrics] listen on: the same value keeps the listener, a new one restarts it.
    if (this.live) processOf(this.plugin).metricsListener.apply(this.shared.metrics.listen, this.plugin)
    // Connect to Redis now, not on the first mail.
    if (this.live && this.shared.store.backend === 'redis') this.store()
  }

  /**
   * The raw lines of a list file (package default, replaced whole by the
   * node's own file when that is not empty), watched for changes.
   */
  lines(name: string): string[] {
    const lines = this.cfg.get(name, 'data', this.live ? this.reload : undefined)
    return Array.isArray(lines) ? lines.map(String) : []
  }

  /** This node's name (config/me), as it introduces itself to other servers. */
  hostname(): string {
    return this.me
  }

  /** Names a problem in the log once per process. */
  report(message: string): void {
    reportOnce(this.plugin, message)
  }

  /** The counter store for the current settings (one per process: haraka/process.ts). */
  store(): CounterStore {
    // Asked several times per message: looked up again only after a (re)load.
    if (!this.storeNow) {
      const { backend, timeout, max_keys, heartbeat } = this.shared.store
      const log = { logwarn: (m: string) => this.plugin.logwarn(m), loginfo: (m: string) => this.plugin.loginfo(m) }
      this.storeNow = processOf(this.plugin).stores.get(backend, this.redis, timeout, log, max_keys, heartbeat)
    }
    return this.storeNow
  }

  /** The resolver for the current [dns] settings (one per process: haraka/process.ts), with its answer cache. */
  dns(): Dns {
    if (!this.dnsNow) {
      const d = this.shared.dns
      this.dnsNow = processOf(this.plugin).dns.dns(d.servers, d.timeout, d.cache_ttl)
    }
    return this.dnsNow
  }

  /** A resolver that always asks, for the DNS list self-tests. */
  dnsUncached(): Dns {
    const d = this.shared.dns
    return processOf(this.plugin).dns.dns(d.servers, d.timeout, 0, false)
  }

  /** The resolver handed to mailauth for the current [dns] settings, on the same answers as dns(). */
  mailauth(): MailauthResolver {
    const d = this.shared.dns
    return processOf(this.plugin).dns.mailauth(d.servers, d.timeout, d.cache_ttl)
  }
}
