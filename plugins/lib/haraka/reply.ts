// The one path from a rendered reply to what a Haraka hook passes to next().
// Haraka 3.3 sends a plain string after 550 (DENY) or 450 (DENYSOFT) at
// MAIL, RCPT and after the final dot; any other code (554, 451) needs a
// haraka-dsn object, whose code wins. At connect only 421 and 554 exist:
// DENYSOFTDISCONNECT with a plain string sends "421 <text>" and closes (G2).
import constants from 'haraka-constants'
import DSN from 'haraka-dsn'
import { CatalogEntry } from '../codes/catalog'

export type HookPhase = 'connect' | 'mail' | 'rcpt' | 'data_post'

export interface HarakaReply {
  retval: number
  msg: string | object
}

export function harakaReply(entry: CatalogEntry, text: string, hook: HookPhase): HarakaReply {
  const soft = entry.smtp < 500
  if (hook === 'connect') {
    if (entry.smtp !== 421) throw new Error(`${entry.id}: ${entry.smtp} cannot be sent at connect`)
    return { retval: constants.denysoftdisconnect, msg: text }
  }
  const retval = soft ? constants.denysoft : constants.deny
  if (entry.smtp === (soft ? 450 : 550)) return { retval, msg: text }
  if (!entry.enhanced) throw new Error(`${entry.id}: ${entry.smtp} needs an enhanced code`)
  const [, sub, det] = entry.enhanced.split('.').map(Number)
  const bare = text.startsWith(`${entry.enhanced} `) ? text.slice(entry.enhanced.length + 1) : text
  return { retval, msg: DSN.create(entry.smtp, bare, sub, det) }
}
