// Reads one ini file's raw values (as haraka-config parsed them) against the
// schema: each key gets a typed value, and a bad value is reported and the
// default kept, so a typo never stops Haraka or turns a check off silently.
import { FileName, SCHEMA, SettingsOf, Spec } from './schema'

export interface Problem {
  file: string
  section: string
  key: string
  value: unknown
  /** What was wrong and what is used instead. */
  message: string
}

type Raw = Record<string, unknown> | null | undefined

const TRUE = /^(true|yes|on|1)$/i
const FALSE = /^(false|no|off|0)$/i

function parseValue(spec: Spec, raw: unknown): { value?: unknown; error?: string } {
  if (raw === undefined) return { value: spec.default }
  const text = Array.isArray(raw) ? raw.join(',') : String(raw).trim()
  switch (spec.type) {
    case 'bool':
    case 'optbool': {
      if (typeof raw === 'boolean') return { value: raw }
      if (TRUE.test(text)) return { value: true }
      if (FALSE.test(text)) return { value: false }
      if (spec.type === 'optbool' && text === '') return { value: undefined }
      return { error: 'is not true or false' }
    }
    case 'number': {
      const n = typeof raw === 'number' ? raw : Number(text)
      if (text === '' || !Number.isFinite(n)) return { error: 'is not a number' }
      if (spec.integer && !Number.isInteger(n)) return { error: 'is not a whole number' }
      if (n < spec.min || n > spec.max) return { error: `is outside ${spec.min}..${spec.max}` }
      return { value: n }
    }
    case 'enum': {
      const value = spec.values.find((v) => v.toLowerCase() === text.toLowerCase())
      if (value === undefined) return { error: `is not one of ${spec.values.join(', ')}` }
      return { value }
    }
    case 'list':
      return { value: text.split(',').map((s) => s.trim()).filter(Boolean) }
    case 'string':
      return { value: text }
  }
}

function describeDefault(spec: Spec): string {
  if (spec.type === 'optbool') return 'the [main] setting'
  if (spec.type === 'list') return spec.default.length ? spec.default.join(',') : '(empty)'
  return spec.default === '' ? '(empty)' : String(spec.default)
}

/**
 * Typed settings for one file, from the merged ini object. Sections that are
 * not in the schema (the DNS list zones named in [dnsbl] zones) are returned
 * raw in `extra` for the check that owns them.
 */
export function readSettings<F extends FileName>(file: F, raw: Raw): {
  settings: SettingsOf<F>
  problems: Problem[]
  extra: Record<string, Record<string, unknown>>
} {
  const schema: Readonly<Record<string, Readonly<Record<string, Spec>>>> = SCHEMA[file]
  const problems: Problem[] = []
  const out: Record<string, Record<string, unknown>> = {}
  const extra: Record<string, Record<string, unknown>> = {}
  const rawObj: Record<string, unknown> = raw ?? {}
  for (const [section, keys] of Object.entries(schema)) {
    const rawSec = (rawObj[section] ?? {}) as Record<string, unknown>
    const sec: Record<string, unknown> = {}
    for (const [key, spec] of Object.entries(keys)) {
      const { value, error } = parseValue(spec, rawSec[key])
      if (error) {
        problems.push({
          file, section, key, value: rawSec[key],
          message: `${file} [${section}] ${key}=${String(rawSec[key])} ${error}; using ${describeDefault(spec)}`,
        })
        sec[key] = spec.default
      } else {
        sec[key] = value
      }
    }
    out[section] = sec
  }
  for (const [section, value] of Object.entries(rawObj)) {
    if (!value || typeof value !== 'object') continue
    const keys = schema[section]
    if (!keys) {
      // haraka-config puts keys before any section in [main]; an empty one is normal.
      if (section === 'main' && !Object.keys(value).length) continue
      extra[section] = value as Record<string, unknown>
      continue
    }
    for (const key of Object.keys(value)) {
      if (!(key in keys)) {
        problems.push({ file, section, key, value: (value as Record<string, unknown>)[key], message: `${file} [${section}] ${key} is not a known key; ignored` })
      }
    }
  }
  return { settings: out as SettingsOf<F>, problems, extra }
}

/** Monitor mode for one check: its own `monitor` key, else [main] monitor. */
export function isMonitor(section: { monitor?: boolean }, globalMonitor: boolean): boolean {
  return section.monitor ?? globalMonitor
}
