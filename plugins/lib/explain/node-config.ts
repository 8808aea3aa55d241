// A Haraka node's settings for the bundle, read once the way the plugins read
// them (haraka-config: the package's config/ holds the defaults, the node's
// config folder overrides them key by key), without watching the files.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { HarakaConfig } from '../haraka/types'
import { PACKAGE_ROOT } from '../config/paths'
import { netList, NetList } from '../config/netlist'
import { PluginConfig } from '../haraka/plugin-config'
import { BundleProcess, SupportCodesPlugin } from '../haraka/process'

export interface NodeConfig {
  connect: PluginConfig<'support-codes-connect.ini'>
  mailfrom: PluginConfig<'support-codes-mailfrom.ini'>
  rcpt: PluginConfig<'support-codes-rcpt.ini'>
  data: PluginConfig<'support-codes-data.ini'>
  /** Problems with the files, as the plugins would log them at start. */
  problems: string[]
  /** The bundle's plugins listed in the node's config/plugins (all four without a config folder). */
  enabled: Set<BundlePlugin>
  /** Haraka's relay plugin with acl=true: the addresses in relay_acl_allow may relay. */
  relayAcl?: NetList
  /** Stops haraka-config watching the folders read (it watches every folder it reads from). */
  close(): void
}

export const BUNDLE_PLUGINS = ['connect', 'mailfrom', 'rcpt', 'data'] as const
export type BundlePlugin = typeof BUNDLE_PLUGINS[number]

function readLines(dir: string, name: string): string[] | undefined {
  try {
    return fs.readFileSync(path.join(dir, name), 'utf8').split(/\r?\n/).map((l) => l.replace(/#.*/, '').trim()).filter(Boolean)
  } catch {
    return undefined
  }
}

function enabledPlugins(dir: string | undefined): Set<BundlePlugin> {
  const listed = dir ? readLines(dir, 'plugins') : undefined
  if (!listed) return new Set(BUNDLE_PLUGINS)
  return new Set(BUNDLE_PLUGINS.filter((p) => listed.includes(`support-codes/${p}`)))
}

function relayAcl(dir: string | undefined): NetList | undefined {
  if (!dir || !readLines(dir, 'plugins')?.includes('relay')) return undefined
  const ini = readLines(dir, 'relay.ini') ?? []
  if (!ini.some((l) => /^acl\s*=\s*(true|1|yes|on)$/i.test(l))) return undefined
  return netList(readLines(dir, 'relay_acl_allow') ?? [])
}

// haraka-config comes with Haraka; the package depends on it for this reader.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const harakaConfig = require('haraka-config') as HarakaConfig

/** config/me as Haraka reads it: the first line, or the machine's name. */
function readMe(dir: string | undefined): string {
  if (dir) {
    try {
      const first = fs.readFileSync(path.join(dir, 'me'), 'utf8').split(/\r?\n/)[0].trim()
      if (first) return first
    } catch {
      // no config/me: Haraka uses the host name
    }
  }
  return os.hostname()
}

/** @param dir a node's config folder (the one holding support-codes.ini), or undefined for the package defaults alone. */
export function loadNodeConfig(dir: string | undefined): NodeConfig {
  if (dir && !fs.existsSync(path.join(dir, '.')) ) throw new Error(`${dir}: no such folder`)
  const problems: string[] = []
  // Read the files as they are now, not as haraka-config cached them earlier in this process.
  process.env.WITHOUT_CONFIG_CACHE ??= '1'
  const cfg = harakaConfig.module_config(PACKAGE_ROOT) as HarakaConfig & { overrides_path?: string; stop_watching?: (name: string) => void }
  if (dir) cfg.overrides_path = path.resolve(dir)
  const me = readMe(dir)
  const quiet = (): void => undefined
  // Its own shared parts: every problem with the files is named in this reading.
  const plugin: SupportCodesPlugin = {
    supportCodes: new BundleProcess(),
    name: 'support-codes explain',
    config: {
      module_config: () => cfg,
      get: (name: string) => (name === 'me' ? me : undefined),
    },
    register_hook: quiet,
    logerror: (m: unknown) => { problems.push(String(m)) },
    logwarn: (m: unknown) => { problems.push(String(m)) },
    loginfo: quiet,
    lognotice: quiet,
    logdebug: quiet,
  }
  const node: NodeConfig = {
    connect: new PluginConfig(plugin, 'support-codes-connect.ini', undefined, false),
    mailfrom: new PluginConfig(plugin, 'support-codes-mailfrom.ini', undefined, false),
    rcpt: new PluginConfig(plugin, 'support-codes-rcpt.ini', (own) => own.dnsbl.zones, false),
    data: new PluginConfig(plugin, 'support-codes-data.ini', undefined, false),
    problems,
    enabled: enabledPlugins(dir),
    relayAcl: relayAcl(dir),
    close: () => {
      for (const folder of [path.join(PACKAGE_ROOT, 'config'), ...(dir ? [path.resolve(dir)] : [])]) {
        cfg.stop_watching?.(path.join(folder, 'support-codes.ini'))
      }
    },
  }
  return node
}
