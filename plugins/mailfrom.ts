// support-codes/mailfrom: checks at MAIL FROM, in order: G34 (null sender),
// G29 (messages per sender mailbox). Accepted messages are counted for G29
// when the queue takes them.
import { HarakaPlugin, Address, Connection } from './lib/haraka-types'
import { decide, hook, skipReason } from './lib/hook'
import { PluginConfig } from './lib/plugin-config'
import { isMonitor } from './lib/settings'
import { nullSender } from './lib/checks/null-sender'
import { senderRate } from './lib/checks/sender-rate'
import { countOne, recentCount } from './lib/rate-window'

export { hook_capabilities } from './lib/hook'

const FILE = 'support-codes-mailfrom.ini'
let config: PluginConfig<typeof FILE>

export function register(this: HarakaPlugin): void {
  config = new PluginConfig(this, FILE)
}

/** The rate key of a sender mailbox: the address, case-folded. */
function senderKey(from: Address | undefined): string | undefined {
  if (!from || from.isNull()) return undefined
  return `sc:rate:sender:${from.address.toLowerCase()}`
}

export const hook_mail = hook('mail', async function (this: HarakaPlugin, connection: Connection, params: Address[]) {
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

  const key = senderKey(from)
  if (own.sender_rate.limit > 0 && key) {
    const recent = await recentCount(config.store(), key, own.sender_rate.period).catch((err: unknown) => {
      connection.logdebug(this, `sender_rate not checked: ${String(err)}`)
      return undefined
    })
    const g29 = senderRate({ recent }, own.sender_rate)
    if (g29) {
      const out = decide({ ...base, check: 'sender_rate', verdict: g29, monitor: isMonitor(own.sender_rate, shared.main.monitor) })
      if (out) return out
    } else if (recent !== undefined) {
      txn.results.add(this, { pass: 'sender_rate' })
    }
  }
  return undefined
})

// Counted when the message is accepted (the queue said OK), not per attempt.
export const hook_queue_ok = hook('queue_ok', async function (this: HarakaPlugin, connection: Connection) {
  const txn = connection.transaction
  const { own } = config
  if (!txn || own.sender_rate.limit <= 0 || skipReason(connection, config.allow)) return undefined
  const key = senderKey(txn.mail_from ?? undefined)
  if (!key) return undefined
  await countOne(config.store(), key, own.sender_rate.period).catch((err: unknown) => {
    connection.logdebug(this, `sender_rate not counted: ${String(err)}`)
  })
  return undefined
})
