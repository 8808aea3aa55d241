// Which DNS list zones are in use. RFC 5782 5: a list must answer for
// 127.0.0.2 and must not list 127.0.0.1; a zone that fails this test, or
// that keeps failing lookups or answering error codes, is switched off with a
// log line and tested again every `recheck` seconds until it passes. A
// switched-off zone never refuses anyone.
import { Dns } from '../dns/resolver'
import { AnswerMeaning, ZoneConfig, queryName } from './dnsbl'

export interface HealthLog {
  loginfo(msg: string): void
  logwarn(msg: string): void
}

interface ZoneState {
  errors: number
  off?: string
}

export class ZoneHealth {
  private readonly state = new Map<string, ZoneState>()
  private timer: NodeJS.Timeout | undefined
  private zones: ZoneConfig[] = []

  constructor(
    private readonly dns: () => Dns,
    private readonly log: HealthLog,
  ) {}

  private of(zone: string): ZoneState {
    let s = this.state.get(zone)
    if (!s) {
      s = { errors: 0 }
      this.state.set(zone, s)
    }
    return s
  }

  enabled(zone: string): boolean {
    return !this.of(zone).off
  }

  /** Why a zone is off, for the log and tests. */
  offReason(zone: string): string | undefined {
    return this.of(zone).off
  }

  /** Counts a lookup's outcome; `maxErrors` errors in a row switch the zone off (0: never). */
  record(zone: ZoneConfig, meaning: AnswerMeaning, maxErrors: number): void {
    const s = this.of(zone.zone)
    if (meaning.kind !== 'error') {
      s.errors = 0
      return
    }
    s.errors++
    if (maxErrors > 0 && s.errors >= maxErrors && !s.off) {
      this.switchOff(zone, `${s.errors} errors in a row, the last: ${meaning.why}`)
    }
  }

  private switchOff(zone: ZoneConfig, why: string): void {
    this.of(zone.zone).off = why
    this.log.logwarn(`DNS list ${zone.zone} switched off: ${why}; it refuses no one until it passes its test again`)
  }

  /** RFC 5782 5 test of one zone; switches it on or off. */
  async test(zone: ZoneConfig): Promise<boolean> {
    const dns = this.dns()
    const [positive, negative] = await Promise.all([
      dns.a(queryName('127.0.0.2', zone) as string),
      dns.a(queryName('127.0.0.1', zone) as string),
    ])
    let why: string | undefined
    if (positive.status !== 'ok') why = `no answer for the test entry 127.0.0.2 (${positive.code})`
    else if (negative.status === 'ok') why = `it lists 127.0.0.1 (${negative.values.join(',')}), which no list may`
    else if (negative.status === 'error') why = `the 127.0.0.1 test lookup failed (${negative.code})`
    const s = this.of(zone.zone)
    if (why) {
      if (!s.off) this.switchOff(zone, `failed its test: ${why}`)
      else s.off = `failed its test: ${why}`
      return false
    }
    if (s.off) this.log.loginfo(`DNS list ${zone.zone} passed its test; in use again`)
    s.off = undefined
    s.errors = 0
    return true
  }

  /** Tests the zones now and every recheckSec seconds (0: never). */
  watch(zones: ZoneConfig[], recheckSec: number): void {
    this.stop()
    this.zones = zones
    for (const z of [...this.state.keys()]) if (!zones.some((x) => x.zone === z)) this.state.delete(z)
    if (recheckSec <= 0) {
      for (const s of this.state.values()) s.off = undefined
      return
    }
    const run = (): void => {
      for (const z of this.zones) void this.test(z).catch(() => undefined)
    }
    run()
    this.timer = setInterval(run, recheckSec * 1000)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }
}
