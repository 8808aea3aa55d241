// support-codes/rcpt: checks of the rcpt phase. Each check lands with its issue;
// until then the plugin loads its settings and advertises enhanced codes.
import { HarakaPlugin } from './lib/haraka-types'
import { PluginConfig } from './lib/plugin-config'

export { hook_capabilities } from './lib/hook'

const FILE = 'support-codes-rcpt.ini'

export function register(this: HarakaPlugin): void {
  // Loading names any bad value in the file once, at start and on reload.
  new PluginConfig(this, FILE)
}
