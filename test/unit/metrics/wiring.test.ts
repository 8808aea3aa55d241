// Where the plugins' shared code records the metrics: decide() by code,
// phase and action, applyRun() per check, the process's counters on the
// store's fail-open path (the other services' failures are counted where
// they fail, series-dependencies.test.ts, not again on their fail-open
// paths); off, none of it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decide } from '../../../plugins/lib/haraka/hook'
import { applyRun } from '../../../plugins/lib/haraka/apply-run'
import { Connection, HarakaPlugin, ResultStore } from '../../../plugins/lib/haraka/types'
import { BundleProcess, SupportCodesPlugin } from '../../../plugins/lib/haraka/process'
import { PhaseRun } from '../../../plugins/lib/phases/run'

const noop = (): void => undefined
const results: ResultStore = { add: noop, push: noop, get: () => undefined }
const connection = { remote: { ip: '192.0.2.1' }, lognotice: noop, logwarn: noop, logerror: noop } as Connection

function plugin(supportCodes: BundleProcess): SupportCodesPlugin {
  const p: HarakaPlugin = {
    name: 'support-codes/mailfrom', config: { get: noop, module_config: () => { throw new Error('unused') } },
    register_hook: noop, logdebug: noop, loginfo: noop, lognotice: noop, logwarn: noop, logerror: noop,
  }
  return { ...p, supportCodes }
}

async function series(shared: BundleProcess): Promise<string[]> {
  return (await shared.metrics.exposition()).text.split('\n').filter((l) => /^support_codes_(replies|checks|dependency|store)/.test(l))
}

function record(shared: BundleProcess): void {
  const p = plugin(shared)
  const args = { plugin: p, connection, results, tagAll: false } as const
  decide({ ...args, phase: 'mailfrom', hook: 'mail', check: 'null_sender', verdict: { id: 'G34' }, monitor: false })
  decide({ ...args, phase: 'mailfrom', hook: 'mail', check: 'null_sender', verdict: { id: 'G34' }, monitor: true })
  decide({ ...args, phase: 'connect', hook: 'mail', check: 'ptr', verdict: { id: 'G1F', vars: { ip: '192.0.2.1' } }, monitor: false })
  const run = new PhaseRun(() => false, 'mailfrom')
  run.pass('sender_rate', 'under the limit')
  run.fire('null_sender', { id: 'G34' }, 'MAIL FROM:<>')
  applyRun(run, { ...args, phase: 'mailfrom', hook: 'mail' })
  shared.counters.countFailOpen('store')
  shared.counters.countFailOpen('ptr')
  shared.counters.countFailOpen('virus')
  shared.counters.countFailOpen('bug')
}

test('on: replies, checks, and the store fail-open path as a Redis error', async () => {
  const shared = new BundleProcess()
  shared.metrics.serve('test')
  record(shared)
  assert.deepEqual((await series(shared)).sort(), [
    'support_codes_checks_total{check="null_sender",result="fire"} 1',
    'support_codes_checks_total{check="sender_rate",result="pass"} 1',
    'support_codes_dependency_errors_total{dependency="redis"} 1',
    'support_codes_replies_total{code="G1F",phase="connect",action="deferred"} 1',
    'support_codes_replies_total{code="G34",phase="mailfrom",action="monitor"} 1',
    'support_codes_replies_total{code="G34",phase="mailfrom",action="refused"} 2',
    'support_codes_store_fail_open_total 1',
  ])
  // The per-process counts the log lines carry are kept as before.
  assert.deepEqual(shared.counters.failOpenCounts(), { store: 1, ptr: 1, virus: 1, bug: 1 })
})

test('off: nothing is recorded, the counts for the log still are', async () => {
  const shared = new BundleProcess()
  record(shared)
  assert.deepEqual(await series(shared), ['support_codes_store_fail_open_total 0'])
  assert.deepEqual(shared.counters.codeCounts(), { G34: 2, 'monitor:G34': 1, G1F: 1 })
})
