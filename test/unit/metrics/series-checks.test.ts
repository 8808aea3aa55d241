// support_codes_checks_total beyond pass and fire: skip (a skipped client's
// checks, by the plugin's settings), error (a fail-open path, a store that
// did not answer, a hook that threw) and a held verdict counted once, when
// it is decided after DATA; off, none of it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { applyRun, countSkipped } from '../../../plugins/lib/haraka/apply-run'
import { hook } from '../../../plugins/lib/haraka/hook'
import { Connection, HarakaPlugin, ResultStore } from '../../../plugins/lib/haraka/types'
import { BundleProcess, SupportCodesPlugin } from '../../../plugins/lib/haraka/process'
import { readSettings } from '../../../plugins/lib/config/settings'
import { connectChecks, dataChecks, mailfromChecks, ptrChecks, rcptChecks } from '../../../plugins/lib/phases/checks-of'
import { rcptLists } from '../../../plugins/lib/phases/rcpt'
import { PhaseRun } from '../../../plugins/lib/phases/run'
import { Session } from '../../../plugins/lib/phases/session'
import { waitFor } from '../../rig/wait'

const noop = (): void => undefined
const results: ResultStore = { add: noop, push: noop, get: () => undefined }
const connection = { remote: { ip: '192.0.2.1' }, lognotice: noop, logwarn: noop, logerror: noop } as Connection

function plugin(supportCodes: BundleProcess): SupportCodesPlugin {
  const p: HarakaPlugin = {
    name: 'support-codes/rcpt', config: { get: noop, module_config: () => { throw new Error('unused') } },
    register_hook: noop, logdebug: noop, loginfo: noop, lognotice: noop, logwarn: noop, logerror: noop,
  }
  return { ...p, supportCodes }
}

function on(): BundleProcess {
  const shared = new BundleProcess()
  shared.metrics.serve('test')
  return shared
}

async function checks(shared: BundleProcess): Promise<string[]> {
  return (await shared.metrics.exposition()).text.split('\n').filter((l) => l.startsWith('support_codes_checks_total{')).sort()
}

const mailfromOwn = (limit: string) => readSettings('support-codes-mailfrom.ini', { sender_rate: { limit } }).settings
const rcptOwn = readSettings('support-codes-rcpt.ini', { dnsbl: { zones: '' }, sender_mx: { enabled: 'false' }, recipients: { domains: 'example.com', at: 'data' } }).settings
const rcptPart = { own: rcptOwn, lists: rcptLists(rcptOwn, {}, () => [], () => undefined) }

test('skip: each check the plugin would have run, by its settings', async () => {
  const shared = on()
  const p = plugin(shared)
  countSkipped(p, mailfromChecks, mailfromOwn('0'))
  countSkipped(p, mailfromChecks, mailfromOwn('10'))
  countSkipped(p, rcptChecks.bind(undefined, rcptPart.own), rcptPart.lists)
  countSkipped(p, dataChecks, readSettings('support-codes-data.ini', {}).settings)
  assert.deepEqual(await checks(shared), [
    'support_codes_checks_total{check="attachments",result="skip"} 1',
    'support_codes_checks_total{check="dmarc",result="skip"} 1',
    'support_codes_checks_total{check="loop",result="skip"} 1',
    'support_codes_checks_total{check="mime",result="skip"} 2',
    'support_codes_checks_total{check="null_sender",result="skip"} 2',
    'support_codes_checks_total{check="recipients",result="skip"} 1',
    'support_codes_checks_total{check="scan",result="skip"} 1',
    'support_codes_checks_total{check="sender_blocks",result="skip"} 1',
    'support_codes_checks_total{check="sender_rate",result="skip"} 1',
    'support_codes_checks_total{check="spf",result="skip"} 1',
  ])
})

test('the lists are made once per load of the settings', () => {
  const own = mailfromOwn('10')
  assert.equal(mailfromChecks(own), mailfromChecks(own))
  assert.deepEqual(mailfromChecks(own), ['null_sender', 'sender_rate'])
  const connect = readSettings('support-codes-connect.ini', {}).settings
  assert.deepEqual([connectChecks(connect), ptrChecks(connect)], [['concurrency'], ['ptr']])
  const off = readSettings('support-codes-connect.ini', { concurrency: { max: '0' }, ptr: { enabled: 'false' } }).settings
  assert.deepEqual([connectChecks(off), ptrChecks(off)], [[], []])
  assert.deepEqual(dataChecks(readSettings('support-codes-data.ini', { virus: { clamd: '127.0.0.1:3310' }, spf: { reject_fail: 'false' }, dmarc: { reject: 'false', temperror: 'accept' } }).settings),
    ['loop', 'scan', 'mime', 'mime', 'attachments', 'virus'])
})

test('error: a fail-open path and a store that did not answer; pass and fire as before', async () => {
  const shared = on()
  const run = new PhaseRun(() => false, 'rcpt')
  run.judgeLenient('sender_mx', undefined, () => ({ id: 'MX-TEMP', reason: 'SERVFAIL' }), 'MX lookup failed')
  run.undecided('mailbox_rate', 'the counter store did not answer')
  run.pass('sender_blocks', 'not blocked')
  run.fire('dnsbl', { id: 'G31', vars: { ip: '192.0.2.1', zone: 'list.example' } }, 'listed')
  applyRun(run, { plugin: plugin(shared), connection, results, phase: 'rcpt', hook: 'rcpt', tagAll: false })
  assert.deepEqual(await checks(shared), [
    'support_codes_checks_total{check="dnsbl",result="fire"} 1',
    'support_codes_checks_total{check="mailbox_rate",result="error"} 1',
    'support_codes_checks_total{check="sender_blocks",result="pass"} 1',
    'support_codes_checks_total{check="sender_mx",result="error"} 1',
  ])
})

test('a held G8/G9 is counted once, when it is decided after DATA', async () => {
  const shared = on()
  const p = plugin(shared)
  const session = new Session({ monitor: false, rcpt: rcptPart })
  const args = { plugin: p, connection, results, tagAll: false } as const
  for (const address of ['gone@example.com', 'lost@example.com']) {
    const run = await session.rcpt({ ip: '192.0.2.1', sender: 'a@sender.example', address, domain: 'example.com', ipAge: async () => undefined, recent: async () => 0, callout: async () => { throw new Error('unused') } })
    applyRun(run, { ...args, phase: 'rcpt', hook: 'rcpt' })
  }
  // Held, the recipient's checks end there, and nothing is counted yet.
  assert.deepEqual(await checks(shared), [])
  const out = applyRun(await session.data(), { ...args, phase: 'data', hook: 'data_post' })
  assert.equal(out?.msg, '5.1.1 gone@example.com: Email address could not be found, or was misspelled (G8, G9)')
  assert.deepEqual(await checks(shared), [
    'support_codes_checks_total{check="recipients",result="fire"} 1',
  ])
})

test('error: a hook that throws counts under check="bug"', async () => {
  const shared = on()
  const p = plugin(shared)
  let called = 0
  hook('rcpt', () => { throw new Error('a defect') }).call(p, () => { called++ })
  await waitFor('next() to be called', () => called === 1)
  assert.deepEqual(await checks(shared), ['support_codes_checks_total{check="bug",result="error"} 1'])
})

test('off: skip and error record nothing', async () => {
  const shared = new BundleProcess()
  const p = plugin(shared)
  countSkipped(p, mailfromChecks, mailfromOwn('10'))
  const run = new PhaseRun(() => false, 'rcpt')
  run.undecided('mailbox_rate', 'the counter store did not answer')
  applyRun(run, { plugin: p, connection, results, phase: 'rcpt', hook: 'rcpt', tagAll: false })
  assert.deepEqual(await checks(shared), [])
})
