// Live recipient verification (G6, G7, G8/G9): the Callout class ties the
// parts together. For one recipient it takes the client's slot, then tries
// the targets in order, each dialogue in its server's slot, all within one
// deadline. Every failure becomes an answer; nothing here throws.
import { CalloutAnswer, tempfail } from './answer'
import { deadlineIn, tooLateToDial } from './deadline'
import { Attempt, dialogue } from './dialogue'
import { CONTROLS } from './reply'
import { Slots, WaitCount } from './slots'
import { CalloutTarget, targetName } from './targets'

// The names the rest of plugins/lib imports from here.
export { CalloutAnswer } from './answer'
export { classifyRcpt } from './reply'
export { CalloutTarget, calloutTargets, parseRoutes, targetName } from './targets'

export interface CalloutOptions {
  /** Name given in EHLO/HELO. */
  helo: string
  /** Bound on one whole call, waiting for a slot included. */
  timeoutMs: number
  /** Dialogues open at once to one host:port (at least 1). */
  maxPerServer: number
  /** Callouts open at once for one client ([callout] max_per_client; at least 1). */
  maxPerClient?: number
  /** Callouts waiting for a slot in this process, all together ([callout] max_queue); one more is refused at once. */
  maxQueue?: number
  /** Reverse-path for MAIL FROM; default '' (MAIL FROM:<>). */
  sender?: string
  /**
   * Told once per call whose answer is that the server could not be reached
   * or did not answer in time (not for a 4xx or 5xx reply, nor for the
   * process's own limits on callouts).
   */
  unreachable?: () => void
}

/** [callout] max_per_client and max_queue when none is given (the settings' defaults). */
const DEFAULT_MAX_PER_CLIENT = 3
const DEFAULT_MAX_QUEUE = 100

export class Callout {
  private readonly slots: Slots
  private readonly clients: Slots
  private readonly waiting: WaitCount
  private readonly helo: string
  private readonly sender: string

  constructor(private readonly opts: CalloutOptions) {
    this.waiting = new WaitCount(Math.max(0, Math.floor(opts.maxQueue ?? DEFAULT_MAX_QUEUE)))
    this.slots = new Slots(Math.max(1, Math.floor(opts.maxPerServer)), this.waiting)
    this.clients = new Slots(Math.max(1, Math.floor(opts.maxPerClient ?? DEFAULT_MAX_PER_CLIENT)), this.waiting)
    // A CR or LF in a configured name would end the command line early.
    this.helo = opts.helo.replace(CONTROLS, '').trim() || 'localhost'
    this.sender = (opts.sender ?? '').replace(CONTROLS, '').replace(/^<(.*)>$/, '$1')
  }

  /** Dialogues open now, to all servers. */
  get active(): number {
    return this.slots.total
  }

  /** Callouts waiting for a slot now, for a server or a client. */
  get queued(): number {
    return this.waiting.n
  }

  /**
   * One SMTP dialogue: connect, greeting (220), EHLO (HELO on 5xx),
   * MAIL FROM, RCPT TO:<rcpt>, QUIT. The whole call, waiting for a free slot
   * included, is bounded by timeoutMs.
   */
  async verify(target: CalloutTarget, rcpt: string, client?: string): Promise<CalloutAnswer> {
    return this.call([target], rcpt, client, true)
  }

  /**
   * Tries targets in order until one gives an answer other than a connection
   * failure (RFC 5321 5.1: the next MX when one cannot be reached), all
   * within timeoutMs in total.
   */
  async verifyAny(targets: CalloutTarget[], rcpt: string, client?: string): Promise<CalloutAnswer> {
    return this.call(targets, rcpt, client, false)
  }

  /** The answer when no slot was had: the process's queue was full, or the deadline came first (busy says for whom). */
  private noSlot(why: 'timeout' | 'queue full', busy: string): CalloutAnswer {
    return why === 'queue full' ? tempfail(`too many callouts waiting (${this.waiting.max})`) : tempfail(busy)
  }

  // With client (clientKey() of the SMTP client), at most maxPerClient of
  // that client's callouts are open at once: its slot is held across
  // targets, until the last socket is gone.
  private async call(targets: CalloutTarget[], rcpt: string, client: string | undefined, firstOnly: boolean): Promise<CalloutAnswer> {
    const deadline = deadlineIn(this.opts.timeoutMs)
    if (!targets.length) return tempfail('no server to call')
    let release: (() => void) | undefined
    if (client !== undefined) {
      const got = await this.clients.acquire(client, deadline)
      if (typeof got !== 'function') return this.noSlot(got, `too many callouts for client ${client}`)
      release = got
    }
    let sockets = 0
    let answered = false
    const closed = (): void => {
      sockets--
      if (answered && sockets === 0) release?.()
    }
    try {
      let last: Attempt | undefined
      for (const [i, target] of targets.entries()) {
        if (i > 0 && tooLateToDial(deadline)) break
        last = await this.attempt(target, rcpt, deadline, () => sockets++, closed)
        if (firstOnly || !last.connectFailure) break
      }
      if (last?.unreachable) this.opts.unreachable?.()
      return last?.answer ?? tempfail('no server to call')
    } finally {
      answered = true
      if (sockets === 0) release?.()
    }
  }

  /** opened and closed are told when the dialogue's socket is made and gone. */
  private async attempt(target: CalloutTarget, rcpt: string, deadline: number, opened: () => void, closed: () => void): Promise<Attempt> {
    const name = targetName(target)
    try {
      const address = rcpt.trim().replace(/^<(.*)>$/, '$1')
      // A CR or LF would let the address inject a command of its own.
      if (!address || address.replace(CONTROLS, '') !== address) {
        return { answer: tempfail(`${name}: recipient not sendable`), connectFailure: false }
      }
      const got = await this.slots.acquire(name, deadline)
      if (typeof got !== 'function') return { answer: this.noSlot(got, `too many callouts to ${name}`), connectFailure: false }
      opened()
      return await dialogue(target, { helo: this.helo, sender: this.sender, rcpt: address }, deadline, () => {
        got()
        closed()
      })
    } catch (err) {
      return { answer: tempfail(`${name}: ${(err as Error).message}`), connectFailure: false }
    }
  }
}
