// The parts of Haraka's objects the plugins touch, typed. Haraka ships no
// types; these follow Haraka 3.3 (connection.js, transaction.js,
// haraka-results, @haraka/email-address).

export type Next = (retval?: number, msg?: string | object) => void

export interface ResultStore {
  add(plugin: unknown, obj: Record<string, unknown>): unknown
  push(plugin: unknown, obj: Record<string, unknown>): unknown
  get(plugin: unknown): Record<string, unknown> | undefined
}

export interface Address {
  user: string | null
  host: string | null
  isNull(): boolean
  /** local@domain, without angle brackets ("" for the null sender). */
  readonly address: string
}

export interface Logger {
  logdebug(...args: unknown[]): void
  loginfo(...args: unknown[]): void
  lognotice(...args: unknown[]): void
  logwarn(...args: unknown[]): void
  logerror(...args: unknown[]): void
}

/** The message's header as Haraka parsed it (haraka-email-message Header). */
export interface MessageHeader {
  /** Every value of a header field, in the order of the message, unfolded. */
  get_all(name: string): string[]
}

/** The message as Haraka stores it while it arrives (haraka-message-stream). */
export interface MessageStream {
  get_data(cb: (b: Buffer) => void): void
  destroy?: () => void
}

export interface Transaction {
  uuid: string
  notes: Record<string, unknown>
  results: ResultStore
  mail_from: Address | null
  rcpt_to: Address[]
  header: MessageHeader
  /** Takes each line of the message as it arrives, dot-stuffed, with its line end. */
  add_data(line: Buffer | string): void
  message_stream?: MessageStream
  /** Bytes Haraka received for the message (its own count). */
  data_bytes?: number
}

export interface Connection extends Logger {
  uuid: string
  remote: { ip: string; host?: string | null }
  local: { ip?: string; host?: string }
  relaying: boolean
  /** What the client said at HELO or EHLO, once it did. */
  hello?: { verb?: string | null; host?: string | null }
  notes: Record<string, unknown>
  results: ResultStore
  transaction: Transaction | null
  capabilities?: string[]
}

export interface HarakaConfig {
  get(name: string, ...args: unknown[]): unknown
  module_config(defaultsPath: string, overridesPath?: string): HarakaConfig
}

export interface HarakaPlugin extends Logger {
  name: string
  config: HarakaConfig
  register_hook(hook: string, method: string, priority?: number): void
}
