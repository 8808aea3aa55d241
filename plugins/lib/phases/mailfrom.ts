// The mailfrom plugin's checks at MAIL FROM, in order: G34 (null sender),
// G29 (messages per sender mailbox).
import { nullSender } from '../checks/null-sender'
import { senderRate } from '../checks/sender-rate'
import { SettingsOf } from '../config/schema'
import { PhaseRun } from './run'
import { tag } from '../store/keys'

export type MailfromSettings = SettingsOf<'support-codes-mailfrom.ini'>

/** The rate key of a sender mailbox: the address, case-folded, as its hash tag (store/keys.ts). */
export function senderKey(address: string): string {
  return `sc:rate:sender:${tag(address.toLowerCase())}`
}

export interface MailfromFacts {
  /** '' for the null sender. */
  sender: string
  /** Messages accepted from the sender in the window; undefined when the store could not say. */
  recent: (key: string) => Promise<number | undefined>
}

export async function mailfromPhase(run: PhaseRun, own: MailfromSettings, f: MailfromFacts): Promise<void> {
  const isNull = f.sender === ''
  if (run.judge('null_sender', nullSender({ isNull }, own.null_sender), isNull ? 'MAIL FROM:<>' : `MAIL FROM:<${f.sender}>`)) return
  if (own.sender_rate.limit <= 0 || isNull) return
  const recent = await f.recent(senderKey(f.sender))
  if (recent === undefined) {
    run.undecided('sender_rate', 'the counter store did not answer')
    return
  }
  const saw = `${Math.floor(recent)} message(s) accepted from ${f.sender} in the last ${own.sender_rate.period} s, limit ${own.sender_rate.limit}`
  run.judge('sender_rate', senderRate({ recent }, own.sender_rate), saw)
}
