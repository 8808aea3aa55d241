// The plugins' side of a phase run: passes and notes go to Haraka's results,
// verdicts through decide() (log, results, counts), warnings to the log, and
// the verdict that ended the phase becomes the reply.
import { Phase } from '../codes/catalog'
import { Connection, HarakaPlugin, ResultStore } from './types'
import { HookPhase } from './reply'
import { decide, Outcome } from './hook'
import { PhaseRun } from '../phases/run'
import { processOf } from './process'

export interface ApplyArgs {
  plugin: HarakaPlugin
  connection: Connection
  results: ResultStore
  phase: Phase
  hook: HookPhase
  tagAll: boolean
}

export function applyRun(run: PhaseRun, a: ApplyArgs): Outcome {
  for (const w of run.warnings) a.connection.logwarn(a.plugin, w)
  for (const f of run.failedOpen) a.connection.lognotice(a.plugin, f)
  for (const n of run.notes) a.results.add(a.plugin, n)
  let outcome: Outcome
  // One results entry for all the passes: each add() makes Haraka rebuild the plugin's summary line.
  const passed = run.steps.filter((s) => !s.verdict && !s.held).map((s) => s.label)
  if (passed.length) a.results.add(a.plugin, { pass: passed })
  const metrics = processOf(a.plugin).metrics
  if (metrics.enabled) {
    // A held verdict is counted when it is decided after DATA.
    for (const step of run.steps) if (!step.held) metrics.check(step.check, step.verdict ? 'fire' : step.failed ? 'error' : 'pass')
  }
  for (const step of run.steps) {
    if (step.held || !step.verdict) continue
    const out = decide({ ...a, phase: step.phase ?? a.phase, check: step.check, verdict: step.verdict, monitor: step.monitor === true })
    if (step === run.stop) outcome = out
  }
  return outcome
}

/**
 * A client that skips every check (allow list, relaying, authenticated):
 * each check the plugin would have run at this command is counted as
 * skipped. `checks` is a plain function of the settings, so that nothing is
 * allocated per message while the metrics are off.
 */
export function countSkipped<S>(plugin: HarakaPlugin, checks: (settings: S) => readonly string[], settings: S): void {
  const metrics = processOf(plugin).metrics
  if (!metrics.enabled) return
  for (const check of checks(settings)) metrics.check(check, 'skip')
}
