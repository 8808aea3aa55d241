// The session driver: one message's checks, phase by phase, for the four
// plugins and `support-codes explain` alike. Each stage method runs the
// checks of its SMTP command for the parts of the bundle it was given and
// returns the record; the session keeps what a later stage needs (the
// recipients held until DATA). The plugins call one stage per Haraka hook,
// each with its own part; explain calls them all in sequence, with every
// part the node enables.
import { PtrFacts } from '../checks/ptr'
import { Phase } from '../codes/catalog'
import { CodeCounters } from '../codes/counters'
import { Verdict } from '../codes/render'
import { ConnectSettings, connectPhase, ptrPhase } from './connect'
import { DataFacts, dataPhase, DataSettings } from './data'
import { MailfromFacts, mailfromPhase, MailfromSettings } from './mailfrom'
import { RcptFacts, RcptLists, rcptPhase, RcptSettings } from './rcpt'
import { PhaseRun, phaseRun } from './run'

/** The parts of the bundle a session runs: a part left out is a plugin not in this session (or not enabled). */
export interface SessionParts {
  /** [main] monitor. */
  monitor: boolean
  connect?: ConnectSettings
  mailfrom?: MailfromSettings
  rcpt?: { own: RcptSettings; lists: RcptLists }
  data?: DataSettings
  /** Where mail let through on a fail-open path is counted: each phase run counts on its own when not given (explain gives one per run). */
  counters?: CodeCounters
}

export interface MailFacts {
  /** G1F's facts; asked for only when the PTR check runs. */
  ptr?: () => Promise<PtrFacts>
  /** G34's and G29's facts. */
  mailfrom?: MailfromFacts
}

/** A recipient whose G8/G9 waits for DATA, and the check that gave it. */
interface Held {
  address: string
  check: string
}

export class Session {
  private readonly held: Held[] = []

  constructor(private readonly parts: SessionParts) {}

  /** G2. connections: open from the client, this one included; undefined when not known. */
  connect(connections: number | undefined): PhaseRun {
    const own = this.parts.connect
    const run = this.run(own ?? {}, 'connect')
    if (own) connectPhase(run, own, connections)
    return run
  }

  /** MAIL FROM: G1F (decided at connect, sent here), then G34 and G29. */
  async mail(f: MailFacts): Promise<PhaseRun> {
    const connect = this.parts.connect
    const run = this.run(connect ?? {}, 'connect')
    if (connect?.ptr.enabled && f.ptr) ptrPhase(run, connect, await f.ptr())
    const own = this.parts.mailfrom
    if (run.stop || !own || !f.mailfrom) return run
    const more = this.run(own, 'mailfrom')
    await mailfromPhase(more, own, f.mailfrom)
    return run.merge(more)
  }

  /** RCPT TO, one recipient; a G8/G9 held until DATA is kept for data(). */
  async rcpt(f: RcptFacts): Promise<PhaseRun> {
    const part = this.parts.rcpt
    const run = this.run(part?.own ?? {}, 'rcpt')
    if (!part) return run
    await rcptPhase(run, part.own, part.lists, f)
    for (const step of run.steps) if (step.held) this.held.push({ address: f.address, check: step.check })
    return run
  }

  /** The recipients held until DATA so far, in the order given. */
  heldRecipients(): string[] {
    return this.held.map((h) => h.address)
  }

  /**
   * After the final dot: the content checks (given their facts), then the
   * G8/G9 held until DATA, unless a content check refused already.
   */
  async data(f?: DataFacts): Promise<PhaseRun> {
    const own = this.parts.data
    const run = this.run(own ?? {}, 'data')
    if (own && f) await dataPhase(run, own, f)
    const rcpt = this.parts.rcpt
    if (run.stop || !rcpt || !this.held.length) return run
    return run.merge(this.decideHeld(rcpt.own))
  }

  private run(own: object, phase: Phase): PhaseRun {
    return phaseRun(own, this.parts.monitor, phase, this.parts.counters)
  }

  /**
   * The held G8/G9, each decided by the settings of the check that gave it
   * (a callout's "user unknown" by [callout] monitor, the directory's by
   * [recipients] monitor): one verdict per check, naming its first
   * recipient; the first that is not in monitor mode refuses the message.
   */
  private decideHeld(own: RcptSettings): PhaseRun {
    const run = this.run(own, 'data')
    for (const check of new Set(this.held.map((h) => h.check))) {
      const addresses = this.held.filter((h) => h.check === check).map((h) => h.address)
      const verdict: Verdict = { id: 'G8/G9', vars: { email: addresses[0] }, reason: `unknown recipients: ${addresses.join(', ')}` }
      if (run.fire(check, verdict, `held until DATA: ${addresses.join(', ')}`)) break
    }
    return run
  }
}
