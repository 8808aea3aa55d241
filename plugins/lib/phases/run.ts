// One SMTP phase's checks, in order, as a record of what each saw and
// decided. The four plugins and `support-codes explain` run the same phase
// functions (./connect.ts, ./mailfrom.ts, ./rcpt.ts, ./data.ts) and differ
// only in where the facts come from and what they do with the record.
import { countFailOpen } from '../codes/counters'
import { Verdict } from '../codes/render'

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

  /** @param monitorOf whether a check's verdicts are only logged ([check] monitor, [main] monitor). */
  constructor(private readonly monitorOf: (check: string) => boolean) {}

  pass(check: string, saw: string, label = check): void {
    this.steps.push({ check, label, saw })
  }

  /** Records a verdict; true when the phase ends here (not in monitor mode). */
  fire(check: string, verdict: Verdict, saw: string, label = check): boolean {
    const monitor = this.monitorOf(check)
    const step: Step = { check, label, saw, verdict, monitor }
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
      this.failedOpen.push(`${check}: let through by its setting; its safe value would have sent ${would.id}${why} [fail-open ${check} #${countFailOpen(check)}]`)
    }
    return this.judge(check, verdict, saw, label)
  }

  hold(check: string, verdict: Verdict, saw: string): void {
    this.steps.push({ check, label: check, saw, verdict, held: true })
  }

  note(values: Notes): void {
    this.notes.push(values)
  }

  warn(message: string): void {
    this.warnings.push(message)
  }
}
