// What the counter checks (G2, G28, G29, G30) count lives in the server: in
// Redis, which explain reads (and never writes), or in the memory of each
// Haraka process, which it cannot see. Counters given on the command line
// (--counter NAME=N) take the place of the store's.
import { keys } from '../phases/rcpt'
import { CounterStore } from '../store/types'

export const COUNTER_NAMES = {
  connections: 'G2: connections open from the client IP, this one included (default 1)',
  sender: 'G29: messages accepted from the sender mailbox in [sender_rate] period',
  mailbox: 'G30: messages accepted for each recipient in [mailbox_rate] period (mailbox:ADDRESS for one recipient)',
  ip_age: 'G28: seconds since the client IP was first seen (default: from the store; never seen is new)',
  ip_accepted: 'G28: messages accepted from the client IP in [new_ip] period',
  ip_rcpt_ok: 'G28: recipients accepted from the client IP in [new_ip] period',
  ip_rcpt_refused: 'G28: recipients refused to the client IP in [new_ip] period',
} as const

export type Counters = Record<string, number>

/** Parses NAME=N; throws with a message for people on anything else. */
export function parseCounter(text: string, into: Counters): void {
  const m = /^([a-z_]+(?::[^=]+)?)=(\d+(?:\.\d+)?)$/.exec(text.trim())
  const name = m?.[1].split(':')[0]
  if (!m || !name || !(name in COUNTER_NAMES) || (m[1].includes(':') && name !== 'mailbox')) {
    throw new Error(`--counter ${text}: expected NAME=N, NAME one of ${Object.keys(COUNTER_NAMES).join(', ')} or mailbox:ADDRESS`)
  }
  into[name === 'mailbox' && m[1].includes(':') ? `mailbox:${m[1].slice(8).toLowerCase()}` : name] = Number(m[2])
}

/** The counter a rate key stands for, given or not. */
export function counterFor(key: string, ip: string, counters: Counters): number | undefined {
  if (key === keys.ipAccepted(ip)) return counters.ip_accepted
  if (key === keys.ipRcptOk(ip)) return counters.ip_rcpt_ok
  if (key === keys.ipRcptRefused(ip)) return counters.ip_rcpt_refused
  if (key.startsWith('sc:rate:sender:')) return counters.sender
  if (key.startsWith('sc:rate:rcpt:')) {
    const named = Object.keys(counters).find((n) => n.startsWith('mailbox:') && keys.mailbox(n.slice('mailbox:'.length)) === key)
    return named ? counters[named] : counters.mailbox
  }
  return undefined
}

/** A store that answers reads and drops writes: explain leaves no trace in the server's counters or caches. */
export function readOnly(store: Pick<CounterStore, 'backend' | 'get' | 'fetch' | 'close'>): CounterStore {
  return {
    backend: store.backend,
    get: (k) => store.get(k),
    fetch: (k) => store.fetch(k),
    incr: async () => 0,
    decr: async () => 0,
    join: async () => 0,
    leave: async () => undefined,
    setIfAbsent: async (k, value) => (await store.fetch(k)) ?? value,
    put: async () => undefined,
    close: () => store.close(),
    retire: () => void store.close(),
  }
}
