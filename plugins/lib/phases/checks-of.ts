// The checks a plugin runs at its command for a client that is not skipped,
// as their config sections, in order: what a skipped client (allow list,
// relaying, authenticated) is counted as skipping (support_codes_checks_total
// {result="skip"}). A check that depends on the message (a recipient's
// domain, a DNS list for a public IP) is named when its settings turn it on.
// Each list is made once per load of the settings.
import { needsScan, checksFiles } from '../content/scan'
import { ConnectSettings } from './connect'
import { DataSettings, needsAuth } from './data'
import { MailfromSettings } from './mailfrom'
import { RcptLists, RcptSettings } from './rcpt-lists'

const made = new WeakMap<object, readonly string[]>()

function once(key: object, make: () => string[]): readonly string[] {
  let list = made.get(key)
  if (!list) made.set(key, (list = Object.freeze(make())))
  return list
}

const CONCURRENCY: readonly string[] = Object.freeze(['concurrency'])
const PTR: readonly string[] = Object.freeze(['ptr'])
const NONE: readonly string[] = Object.freeze([])

/** The connect plugin at connect: G2 when it has a limit. */
export function connectChecks(own: ConnectSettings): readonly string[] {
  return own.concurrency.max > 0 ? CONCURRENCY : NONE
}

/** The connect plugin at MAIL FROM: G1F when it is on. */
export function ptrChecks(own: ConnectSettings): readonly string[] {
  return own.ptr.enabled ? PTR : NONE
}

/** MAIL FROM: G34, then G29 when it has a limit. */
export function mailfromChecks(own: MailfromSettings): readonly string[] {
  return once(own, () => (own.sender_rate.limit > 0 ? ['null_sender', 'sender_rate'] : ['null_sender']))
}

/** RCPT TO, per recipient. `lists` is rebuilt with the settings, so it keys the list. */
export function rcptChecks(own: RcptSettings, lists: RcptLists): readonly string[] {
  return once(lists, () => {
    const checks: string[] = []
    if (lists.zones.length) checks.push('dnsbl')
    if (own.new_ip.limit > 0) checks.push('new_ip')
    if (own.sender_mx.enabled && lists.mxList.size) checks.push('sender_mx')
    if (own.recipients.domains.length) checks.push('recipients')
    if (own.callout.enabled && lists.calloutDomains.size) checks.push('callout')
    if (own.sender_blocks.enabled) checks.push('sender_blocks')
    if (own.mailbox_rate.limit > 0) checks.push('mailbox_rate')
    return checks
  })
}

/** After the final dot; `mime` twice when both of its checks are on, as a run counts it. */
export function dataChecks(own: DataSettings): readonly string[] {
  return once(own, () => {
    const scan = needsScan(own)
    const auth = needsAuth(own)
    const checks = ['loop']
    if (scan || auth) checks.push('scan')
    if (own.mime.partial) checks.push('mime')
    if (own.mime.contenttype) checks.push('mime')
    if (checksFiles(own)) checks.push('attachments')
    if (own.virus.clamd) checks.push('virus')
    if (auth) checks.push('spf', 'dmarc')
    return checks
  })
}
