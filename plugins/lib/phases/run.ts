// One SMTP phase's checks, in order, as a record of what each saw and
// decided. The four plugins and `support-codes explain` run the same phase
// functions (./connect.ts, ./mailfrom.ts, ./rcpt.ts, ./data.ts) through the
// same session driver (./session.ts) and differ only in where the facts come
// from and what they do with the record.
import { Phase } from '../codes/catalog'
import { CodeCounters } from '../codes/counters'
import { Verdict } from '../codes/render'
import { isMonitor } from '../config/settings'

export interface Step {
  /** The check's config section, as operators know it: null_sender, ptr, ... */
  check: string
  /** The name recorded in Haraka's results when it passes (mime.partial, ...). */
  label: string
  /** What the check saw, one line for people. */
  saw: string
  /** Set when the check fired. */
  verdict?: Verdict
  /** A verdict that is only logged and recorded: the mail goes on. */
  monitor?: boolean
  /** A verdict kept until after DATA ([recipients] at=data). */
  held?: boolean
  /** The phase whose catalog row a verdict is rendered by (a held one: data). */
  phase?: Phase
  /**
   * The check could not decide: a service it needs failed (or would have
   * sent its error verdict but for a lenient setting) and the mail went on.
   */
  failed?: boolean
}

/** Values other plugins and the operator may want in Haraka's results. */
export type Notes = Record<string, string | number | boolean>

export class PhaseRun {
  readonly steps: Step[] = []
  readonly notes: Notes[] = []
  /** Things that went wrong on the way (a server down), for the log. */
  readonly warnings: string[] = []
  /** Mail let through on a fail-open path of docs/fail-open.md, each with its running count, for the log. */
  readonly failedOpen: string[] = []
  /** The step whose verdict ends the phase, when one did. */
  stop: Step | undefined

  /**
   * @param monitorOf whether a check's verdicts are only logged ([check] monitor, [main] monitor).
   * @param phase the phase whose catalog rows render this run's verdicts.
   * @param counters where mail let through on a fail-open path is counted
   *   (the plugins give their process's; without, the run counts on its own).
   */
  constructor(private readonly monitorOf: (check: string) => boolean, readonly phase?: Phase, private readonly counters: CodeCounters = new CodeCounters()) {}

  /** Whether a verdict of this check would only be logged. */
  isMonitor(check: string): boolean {
    return this.monitorOf(check)
  }

  pass(check: string, saw: string, label = check): void {
    this.steps.push({ check, label, saw, ...this.at() })
  }

  private at(): { phase?: Phase } {
    return this.phase ? { phase: this.phase } : {}
  }

  /** Records a verdict; true when the phase ends here (not in monitor mode). */
  fire(check: string, verdict: Verdict, saw: string, label = check): boolean {
    const monitor = this.monitorOf(check)
    const step: Step = { check, label, saw, verdict, monitor, ...this.at() }
    this.steps.push(step)
    if (!monitor) this.stop = step
    return !monitor
  }

  /** A pass or a verdict, whichever the check gave. */
  judge(check: string, verdict: Verdict | undefined, saw: string, label = check): boolean {
    if (!verdict) {
      this.pass(check, saw, label)
      return false
    }
    return this.fire(check, verdict, saw, label)
  }

  /**
   * judge() for a check whose setting may let through what it would
   * otherwise answer (dns_error, on_error, temperror, unsafe_archive =
   * accept): `strict` gives its verdict with that setting at its safe value,
   * and is given only while the setting is lenient, so the default costs no
   * second run of the check. Mail let through that way is counted and
   * logged (docs/fail-open.md).
   */
  judgeLenient(check: string, verdict: Verdict | undefined, strict: (() => Verdict | undefined) | undefined, saw: string, label = check): boolean {
    const would = verdict || !strict ? undefined : strict()
    if (would) {
      const why = would.reason ? ` (${would.reason})` : ''
      this.failedOpen.push(`${check}: let through by its setting; its safe value would have sent ${would.id}${why} [fail-open ${check} #${this.counters.countFailOpen(check)}]`)
      this.undecided(check, saw, label)
      return false
    }
    return this.judge(check, verdict, saw, label)
  }

  /** A check that could not decide (the store or another service did not answer): the mail goes on. */
  undecided(check: string, saw: string, label = check): void {
    this.steps.push({ check, label, saw, failed: true, ...this.at() })
  }

  hold(check: string, verdict: Verdict, saw: string): void {
    this.steps.push({ check, label: check, saw, verdict, held: true, phase: 'data' })
  }

  /**
   * Appends a later part of the same phase (another plugin's checks at the
   * same command): its steps, notes and warnings follow this run's, and its
   * stop ends the phase unless this run's already did.
   */
  merge(other: PhaseRun): this {
    this.steps.push(...other.steps)
    this.notes.push(...other.notes)
    this.warnings.push(...other.warnings)
    this.failedOpen.push(...other.failedOpen)
    this.stop ??= other.stop
    return this
  }

  note(values: Notes): void {
    this.notes.push(values)
  }

  warn(message: string): void {
    this.warnings.push(message)
  }
}

/**
 * A run whose checks are in monitor mode per their section's monitor key or
 * [main] monitor. own: one plugin's settings, by section.
 */
export function phaseRun(own: object, globalMonitor: boolean, phase?: Phase, counters?: CodeCounters): PhaseRun {
  return new PhaseRun((check) => isMonitor({ monitor: sectionMonitor(own, check) }, globalMonitor), phase, counters)
}

/** A section's own monitor key; undefined when it has none (or no such section). */
function sectionMonitor(own: object, check: string): boolean | undefined {
  const section: unknown = Reflect.get(own, check)
  if (section && typeof section === 'object' && 'monitor' in section && typeof section.monitor === 'boolean') return section.monitor
  return undefined
}
