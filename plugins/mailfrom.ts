// support-codes/mailfrom: checks at MAIL FROM, in order: G34 (null sender),
// G29 (messages per sender mailbox); see lib/phases/mailfrom.ts. Accepted
// messages are counted for G29 when the queue takes them.
import { Address, Connection } from './lib/haraka/types'
import { instanceOf, PluginWith, processOf } from './lib/haraka/process'
import { hook, skipped, skipReason, registerPlugin } from './lib/haraka/hook'
import { PluginConfig } from './lib/haraka/plugin-config'
import { applyRun, countSkipped } from './lib/haraka/apply-run'
import { mailfromChecks } from './lib/phases/checks-of'
import { senderKey } from './lib/phases/mailfrom'
import { Session } from './lib/phases/session'
import { countOne, recentCount } from './lib/store/rate-window'

// Registered by name, once for the bundle (registerCapabilities).
export { hook_capabilities as support_codes_capabilities } from './lib/haraka/hook'

const FILE = 'support-codes-mailfrom.ini'
/** A Haraka instance of this plugin: its settings are read in register(). */
type MailfromPlugin = PluginWith<PluginConfig<typeof FILE>>
const configOf = (plugin: MailfromPlugin): PluginConfig<typeof FILE> => instanceOf(plugin)

export function register(this: MailfromPlugin): void {
  registerPlugin(this, () => new PluginConfig(this, FILE))
}

export const hook_mail = hook('mail', async function (this: MailfromPlugin, connection: Connection, params: Address[]) {
  const txn = connection.transaction
  if (!txn) return undefined
  const config = configOf(this)
  const { shared, own } = config
  if (skipped(this, connection, config.allow, txn.results)) {
    countSkipped(this, mailfromChecks, own)
    return undefined
  }
  const from = params[0]
  const run = await new Session({ monitor: shared.main.monitor, mailfrom: own, counters: processOf(this).counters }).mail({
    mailfrom: {
      sender: !from || from.isNull() ? '' : from.address,
      recent: (key) => recentCount(config.store(), key, own.sender_rate.period).catch((err: unknown) => {
        connection.logdebug(this, `sender_rate not checked: ${String(err)}`)
        return undefined
      }),
    },
  })
  return applyRun(run, { plugin: this, connection, results: txn.results, phase: 'mailfrom', hook: 'mail', tagAll: shared.main.tag_all })
})

// Counted when the message is accepted (the queue said OK), not per attempt;
// not waited for: the rcpt plugin's counts of the same message go out with it.
export const hook_queue_ok = hook('queue_ok', function (this: MailfromPlugin, connection: Connection) {
  const txn = connection.transaction
  const config = configOf(this)
  const { own } = config
  if (!txn || own.sender_rate.limit <= 0 || skipReason(connection, config.allow)) return undefined
  const from = txn.mail_from
  if (!from || from.isNull()) return undefined
  void countOne(config.store(), senderKey(from.address), own.sender_rate.period).catch((err: unknown) => {
    connection.logdebug(this, `sender_rate not counted: ${String(err)}`)
  })
  return undefined
})
