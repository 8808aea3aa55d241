// What the four plugins share between Haraka and the checks: a hook wrapper
// that calls next() exactly once whatever happens, the skip rules, and the one
// path from a check's verdict to results, log and reply.
import { Phase } from '../codes/catalog'
import { Connection, HarakaPlugin, Next, ResultStore } from './types'
import { harakaReply, HarakaReply, HookPhase } from './reply'
import { NetList } from '../config/netlist'
import { renderVerdict, Verdict } from '../codes/render'
import { skipFor } from '../phases/skip'
import { joinProcess, PluginWith, SupportCodesPlugin, processOf } from './process'

export type Outcome = HarakaReply | undefined

// The hooks whose time is support_codes_check_seconds, by the phase they run the checks of.
const TIMED: Record<string, Phase | undefined> = { connect: 'connect', mail: 'mailfrom', rcpt: 'rcpt', data_post: 'data' }

/** The check label of support_codes_checks_total{result="error"} when a hook threw (the fail-open path `bug`). */
export const BUG_CHECK = 'bug'

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err)
}

/**
 * Wraps a hook body that returns (or resolves to) an outcome. next() is
 * called exactly once: with the outcome, or with nothing (let the mail
 * through) when the body throws or rejects. A rejected promise that reached
 * Haraka would end the process.
 */
export function hook<P extends SupportCodesPlugin, A extends unknown[]>(
  label: string,
  body: (this: P, ...args: A) => Promise<Outcome> | Outcome,
): (this: P, next: Next, ...args: A) => void {
  const timed = TIMED[label]
  return function (this: P, next: Next, ...args: A): void {
    let done = false
    // Metrics off: one boolean test, no clock read.
    const metrics = timed && processOf(this).metrics
    const started = metrics && metrics.enabled ? performance.now() : undefined
    const finish = (outcome?: Outcome): void => {
      if (done) return
      done = true
      if (metrics && timed && started !== undefined) metrics.checkSeconds(timed, (performance.now() - started) / 1000)
      try {
        if (outcome) next(outcome.retval, outcome.msg)
        else next()
      } catch (err) {
        this.logerror(`${label}: Haraka failed to take the reply: ${describe(err)}`)
      }
    }
    const fail = (err: unknown): void => {
      try {
        const shared = processOf(this)
        // Which check threw is not known here: one error under the fail-open path's name.
        shared.metrics.check(BUG_CHECK, 'error')
        this.logerror(`${label} failed, letting the mail through [fail-open bug #${shared.counters.countFailOpen('bug')}]: ${describe(err)}`)
      } catch {
        // logging must not stop next() from being called
      }
      finish()
    }
    try {
      const out = body.apply(this, args)
      // A body that answered at once is answered at once: no promise, no extra turn of the event loop.
      if (out instanceof Promise) out.then(finish, fail)
      else finish(out)
    } catch (err) {
      fail(err)
    }
  }
}

/** Why a client skips every check, or undefined when it does not. */
export function skipReason(connection: Connection, allow: NetList): string | undefined {
  return skipFor({ ip: connection.remote.ip, relaying: connection.relaying, authenticated: Boolean(connection.notes?.auth_user) }, allow)
}

/** True when the client skips every check; the reason (or `known`, found earlier) is recorded in results. */
export function skipped(plugin: HarakaPlugin, connection: Connection, allow: NetList, results: ResultStore, known?: string): boolean {
  const skip = known ?? skipReason(connection, allow)
  if (skip) results.add(plugin, { skip, emit: true })
  return skip !== undefined
}

export interface DecideArgs {
  plugin: HarakaPlugin
  connection: Connection
  results: ResultStore
  phase: Phase
  hook: HookPhase
  /** Config section of the check, as operators know it: null_sender, ptr, ... */
  check: string
  verdict: Verdict
  monitor: boolean
  tagAll: boolean
}

/**
 * Records a check that fired and returns the reply to send, or undefined in
 * monitor mode (the code that would have been sent is logged and recorded).
 */
export function decide(a: DecideArgs): Outcome {
  const { entry, text, line, missing } = renderVerdict(a.verdict, a.phase, { tagAll: a.tagAll })
  // A bug of the check, not the sender's doing: the row's fixed text still goes out, and the log says why.
  if (missing.length) a.connection.logerror(a.plugin, `${a.check}: no value for ${missing.join(', ')}; the row's fixed text was used`)
  const shared = processOf(a.plugin)
  const count = shared.counters.countCode(entry.id, a.monitor)
  if (shared.metrics.enabled) shared.metrics.reply(entry.id, a.phase, a.monitor ? 'monitor' : entry.smtp < 500 ? 'deferred' : 'refused')
  const why = a.verdict.reason ? ` (${a.verdict.reason})` : ''
  if (a.monitor) {
    a.results.add(a.plugin, { msg: `monitor ${a.check}: ${line}`, emit: true })
    a.results.push(a.plugin, { monitor: entry.id })
    a.connection.lognotice(a.plugin, `monitor: ${a.check} would send "${line}"${why}; accepted [${entry.id} #${count}]`)
    return undefined
  }
  a.results.add(a.plugin, { fail: entry.id, msg: line, emit: true })
  a.connection.lognotice(a.plugin, `${a.check}: sent "${line}"${why} [${entry.id} #${count}]`)
  return harakaReply(entry, text, a.hook)
}

/** The plugin method registerCapabilities() names; each plugin exports hook_capabilities under it. */
export const CAPABILITIES_METHOD = 'support_codes_capabilities'

/**
 * Registers hook_capabilities for the first of the bundle's plugins loaded in
 * this process only: every one of them can advertise the extension alone,
 * and with all four EHLO would run the same hook four times.
 */
export function registerCapabilities(plugin: SupportCodesPlugin): void {
  const shared = processOf(plugin)
  if (shared.capabilitiesBy !== undefined && shared.capabilitiesBy !== plugin.name) return
  shared.capabilitiesBy = plugin.name
  plugin.register_hook('capabilities', CAPABILITIES_METHOD)
}

/**
 * The four plugins' register(): the instance joins the process's shared
 * parts, the capabilities hook is registered once for the bundle, and what
 * the plugin makes for itself is kept on the instance.
 */
export function registerPlugin<T>(plugin: PluginWith<T>, make: () => T): T {
  joinProcess(plugin)
  registerCapabilities(plugin)
  const made = make()
  plugin.supportCodesInstance = made
  return made
}

/** EHLO advertises ENHANCEDSTATUSCODES (RFC 2034): every reply carries one but G2. */
export function hook_capabilities(next: Next, connection: Connection): void {
  try {
    const caps = connection.capabilities
    if (caps && !caps.includes('ENHANCEDSTATUSCODES')) caps.push('ENHANCEDSTATUSCODES')
  } finally {
    next()
  }
}
