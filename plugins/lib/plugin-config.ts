// Loads support-codes.ini and one plugin's own ini through haraka-config:
// the package's config/ holds the defaults, the node's config/ overrides
// them key by key, and a change to either file is picked up without a
// restart (haraka-config's reload callback).
import { HarakaPlugin } from './haraka-types'
import { netList, NetList } from './netlist'
import { PACKAGE_ROOT } from './paths'
import { FileName, SHARED_FILE, SettingsOf } from './settings-schema'
import { readSettings } from './settings'

// A bad value is named once per process, not on every reload or connection.
const reported = new Set<string>()

function reportOnce(plugin: HarakaPlugin, message: string): void {
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

  constructor(private readonly plugin: HarakaPlugin, private readonly file: F) {
    this.load()
  }

  load(): void {
    const cfg = this.plugin.config.module_config(PACKAGE_ROOT, process.env.HARAKA)
    const reload = (): void => {
      try {
        this.load()
        this.plugin.loginfo(`reloaded ${SHARED_FILE} and ${this.file}`)
      } catch (err) {
        this.plugin.logerror(`reloading config failed, keeping the previous settings: ${String(err)}`)
      }
    }
    const shared = readSettings(SHARED_FILE, cfg.get(SHARED_FILE, 'ini', reload) as Record<string, unknown>)
    const own = readSettings(this.file, cfg.get(this.file, 'ini', reload) as Record<string, unknown>)
    for (const p of [...shared.problems, ...own.problems]) reportOnce(this.plugin, p.message)

    const allow = netList(shared.settings.main.allow)
    for (const bad of allow.invalid) {
      reportOnce(this.plugin, `${SHARED_FILE} [main] allow: "${bad}" is not an IP address or CIDR; ignored`)
    }
    this.shared = shared.settings
    this.own = own.settings
    this.extra = own.extra
    this.allow = allow
  }
}
