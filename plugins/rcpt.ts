// support-codes/rcpt: checks of the rcpt phase. This version loads and
// validates its settings and advertises enhanced status codes; the plugin's page in docs/ says which checks it enforces.
import { HarakaPlugin } from './lib/haraka-types'
import { PluginConfig } from './lib/plugin-config'

export { hook_capabilities } from './lib/hook'

const FILE = 'support-codes-rcpt.ini'

export function register(this: HarakaPlugin): void {
  // Loading names any bad value in the file once, at start and on reload.
  new PluginConfig(this, FILE)
}
