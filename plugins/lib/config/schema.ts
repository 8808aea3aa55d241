// Every operator-facing ini key, its type and its default, as data. The
// package's config/*.ini files carry the same defaults with comments for
// operators; a unit test keeps the two in step.

export interface BoolSpec { type: 'bool'; default: boolean }
/** A per-check `monitor` key: absent means "as [main] monitor". */
export interface OptBoolSpec { type: 'optbool'; default: undefined }
export interface NumSpec { type: 'number'; default: number; min: number; max: number; integer: boolean }
export interface EnumSpec<T extends string = string> { type: 'enum'; default: T; values: readonly T[] }
export interface StrSpec { type: 'string'; default: string }
export interface ListSpec { type: 'list'; default: readonly string[] }
export type Spec = BoolSpec | OptBoolSpec | NumSpec | EnumSpec | StrSpec | ListSpec

const bool = (d: boolean): BoolSpec => ({ type: 'bool', default: d })
const monitor: OptBoolSpec = { type: 'optbool', default: undefined }
const int = (d: number, min = 0, max = Number.MAX_SAFE_INTEGER): NumSpec =>
  ({ type: 'number', default: d, min, max, integer: true })
const num = (d: number, min: number, max: number): NumSpec => ({ type: 'number', default: d, min, max, integer: false })
const oneOf = <T extends string>(d: T, ...values: T[]): EnumSpec<T> => ({ type: 'enum', default: d, values })
const str = (d: string): StrSpec => ({ type: 'string', default: d })
const list = (...d: string[]): ListSpec => ({ type: 'list', default: d })

export const SHARED_FILE = 'support-codes.ini'

export const SCHEMA = {
  'support-codes.ini': {
    main: { monitor: bool(false), tag_all: bool(false), allow: list() },
    dns: { servers: list(), timeout: num(5, 0.1, 60), cache_ttl: int(60, 0, 86400), max_lookups: int(30, 1, 1000) },
    store: {
      backend: oneOf('memory', 'memory', 'redis'), timeout: num(0.5, 0.01, 10), ipv6_prefix: int(64, 32, 128),
      max_keys: int(1000000, 1000), heartbeat: int(30, 2, 3600),
    },
    metrics: { listen: str('') },
  },
  'support-codes-connect.ini': {
    concurrency: { max: int(10), monitor },
    ptr: { enabled: bool(true), dns_error: oneOf('defer', 'defer', 'accept'), fcrdns: bool(false), monitor },
  },
  'support-codes-mailfrom.ini': {
    null_sender: { reject: bool(true), monitor },
    sender_rate: { limit: int(0), period: int(3600, 1), monitor },
  },
  'support-codes-rcpt.ini': {
    dnsbl: { zones: list('senderscore', 'spamhaus_xbl'), recheck: int(300), max_errors: int(5), monitor },
    senderscore: { zone: str('bl.score.senderscore.com'), code: oneOf('G31', 'G31', 'G32'), listed: list('127.0.0.2'), ipv6: bool(false) },
    spamhaus_xbl: { zone: str('xbl.spamhaus.org'), code: oneOf('G32', 'G31', 'G32'), listed: list('127.0.0.4/30'), ipv6: bool(false) },
    new_ip: { limit: int(0), period: int(3600, 1), probation: int(86400, 1), untrusted_min: int(10), untrusted_ratio: num(0.5, 0, 1), monitor },
    sender_mx: { enabled: bool(true), dns_error: oneOf('defer', 'defer', 'accept'), monitor },
    recipients: { domains: list(), at: oneOf('rcpt', 'rcpt', 'data'), monitor },
    callout: {
      enabled: bool(false), domains: list(), routes: list(), timeout: num(10, 0.1, 300), cache_ttl: int(3600),
      negative_ttl: int(600), max_per_server: int(5, 1), max_per_client: int(3, 1), max_queue: int(100, 1), monitor,
    },
    sender_blocks: { enabled: bool(true), monitor },
    mailbox_rate: { limit: int(0), period: int(3600, 1), monitor },
  },
  'support-codes-data.ini': {
    loop: { max_received: int(30, 1), max_self: int(3), monitor },
    mime: { partial: bool(true), contenttype: bool(true), monitor },
    attachments: {
      archives: bool(true), banned: bool(true), winzip: bool(true), clsid: bool(true),
      max_depth: int(5), max_entries: int(1000, 1), unsafe_archive: oneOf('reject', 'reject', 'defer', 'accept'),
      max_archive_bytes: int(26214400, 1024), max_nested_bytes: int(10485760, 1024), max_ratio: int(100, 1),
      max_total_bytes: int(52428800, 1024), monitor,
    },
    scan: {
      thread_min_bytes: int(65536), in_place_max_bytes: int(1048576, 0), timeout: num(10, 0.1, 600),
      max_parts: int(1000, 1), max_depth: int(50, 1, 1000), max_header_bytes: int(102400, 1024),
      max_header_lines: int(1000, 10), max_encoded_messages: int(3, 0, 20), max_kept_bytes: int(268435456, 1048576),
      defer: list('timeout', 'memory'),
    },
    virus: {
      clamd: str(''), on_error: oneOf('defer', 'defer', 'accept'), timeout: num(30, 0.1, 600),
      max_bytes: int(26214400, 1024), monitor,
    },
    spf: { reject_fail: bool(true), monitor },
    dmarc: {
      reject: bool(true), temperror: oneOf('defer', 'defer', 'accept'), max_from_domains: int(10, 1, 100),
      max_dkim_signatures: int(10, 1, 100), trusted_arc_sealers: list(), override_domains: list(), monitor,
    },
  },
} as const

export type Schema = typeof SCHEMA
export type FileName = keyof Schema

type ValueOf<S> =
  S extends BoolSpec ? boolean
    : S extends OptBoolSpec ? boolean | undefined
      : S extends NumSpec ? number
        : S extends EnumSpec<infer T> ? T
          : S extends ListSpec ? string[]
            : string

/** The typed settings of one ini file. */
export type SettingsOf<F extends FileName> = {
  [Sec in keyof Schema[F]]: { [K in keyof Schema[F][Sec]]: ValueOf<Schema[F][Sec][K]> }
}
