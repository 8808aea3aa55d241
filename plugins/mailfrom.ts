// support-codes/mailfrom: checks at MAIL FROM (G34, G29).
import { HarakaPlugin, Address, Connection } from './lib/haraka-types'
import { decide, hook, skipReason } from './lib/hook'
import { PluginConfig } from './lib/plugin-config'
import { isMonitor } from './lib/settings'
import { nullSender } from './lib/checks/null-sender'

export { hook_capabilities } from './lib/hook'

const FILE = 'support-codes-mailfrom.ini'
let config: PluginConfig<typeof FILE>

export function register(this: HarakaPlugin): void {
  config = new PluginConfig(this, FILE)
}

export const hook_mail = hook('mailfrom', function (this: HarakaPlugin, connection: Connection, params: Address[]) {
  const txn = connection.transaction
  if (!txn) return undefined
  const { shared, own } = config
  const skip = skipReason(connection, config.allow)
  if (skip) {
    txn.results.add(this, { skip, emit: true })
    return undefined
  }
  const from = params[0]
  const base = { plugin: this, connection, results: txn.results, phase: 'mailfrom', hook: 'mail', tagAll: shared.main.tag_all } as const

  const g34 = nullSender({ isNull: !from || from.isNull() }, own.null_sender)
  if (g34) {
    const out = decide({ ...base, check: 'null_sender', verdict: g34, monitor: isMonitor(own.null_sender, shared.main.monitor) })
    if (out) return out
  } else {
    txn.results.add(this, { pass: 'null_sender' })
  }
  return undefined
})
