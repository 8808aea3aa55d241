// The session driver: stages in order, one part's refusal ending the stage
// before the next part runs, and the G8/G9 held until DATA decided by the
// settings of the check that gave it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readSettings } from '../../../plugins/lib/config/settings'
import { CodeCounters } from '../../../plugins/lib/codes/counters'
import { rcptLists, RcptFacts } from '../../../plugins/lib/phases/rcpt'
import { PhaseRun } from '../../../plugins/lib/phases/run'
import { Session } from '../../../plugins/lib/phases/session'
import { skipFor } from '../../../plugins/lib/phases/skip'
import { netList } from '../../../plugins/lib/config/netlist'

type Ini = Record<string, Record<string, string>>

const rcptOwn = (ini: Ini) => readSettings('support-codes-rcpt.ini', { dnsbl: { zones: '' }, sender_mx: { enabled: 'false' }, ...ini }).settings

function rcptPart(ini: Ini, directory: string[] = []): { own: ReturnType<typeof rcptOwn>; lists: ReturnType<typeof rcptLists> } {
  const own = rcptOwn(ini)
  return { own, lists: rcptLists(own, {}, (name) => (name === 'support-codes.recipients' ? directory : []), () => undefined) }
}

/** RCPT facts for a recipient; the callout answers "user unknown" for gone@ addresses. */
function rcptFacts(address: string): RcptFacts {
  return {
    ip: '192.0.2.1', sender: 'a@sender.example', address, domain: address.slice(address.indexOf('@') + 1),
    ipAge: async () => undefined,
    recent: async () => undefined,
    callout: async () => ({
      answer: address.startsWith('gone@') ? { result: 'unknown', code: 550, reply: '550 5.1.1 No such user' } : { result: 'valid', code: 250, reply: '250 OK' },
      cached: false,
    }),
  }
}

function summary(run: PhaseRun): string[] {
  return run.steps.map((s) => `${s.check} ${s.phase ?? '?'} ${!s.verdict ? 'pass' : s.held ? 'held' : s.monitor ? 'monitor' : 'refuse'}${s.verdict?.vars?.email ? ` ${s.verdict.vars.email}` : ''}`)
}

test('MAIL FROM: G1F from the connect part ends the stage; the mailfrom part then does not run', async () => {
  const connect = readSettings('support-codes-connect.ini', {}).settings
  const mailfrom = readSettings('support-codes-mailfrom.ini', {}).settings
  const session = new Session({ monitor: false, connect, mailfrom })
  let asked = 0
  const run = await session.mail({
    ptr: async () => ({ ip: '192.0.2.1', ptr: { status: 'none', code: 'ENOTFOUND' } }),
    mailfrom: { sender: '', recent: async () => { asked++; return 0 } },
  })
  assert.deepEqual(summary(run), ['ptr connect refuse'])
  assert.equal(run.stop?.check, 'ptr')
  assert.equal(asked, 0)
})

test('MAIL FROM: with the PTR passing, the mailfrom part follows in the same record', async () => {
  const connect = readSettings('support-codes-connect.ini', {}).settings
  const mailfrom = readSettings('support-codes-mailfrom.ini', {}).settings
  const run = await new Session({ monitor: false, connect, mailfrom }).mail({
    ptr: async () => ({ ip: '192.0.2.1', ptr: { status: 'ok', values: ['client.example'] } }),
    mailfrom: { sender: '', recent: async () => 0 },
  })
  assert.deepEqual(summary(run), ['ptr connect pass', 'null_sender mailfrom refuse'])
  assert.equal(run.stop?.check, 'null_sender')
})

test('at=data: the directory\'s unknown recipient is held at RCPT and refused after DATA', async () => {
  const session = new Session({ monitor: false, rcpt: rcptPart({ recipients: { domains: 'example.com', at: 'data' } }, ['bob@example.com']) })
  const rcpt = await session.rcpt(rcptFacts('alice@example.com'))
  assert.deepEqual(summary(rcpt), ['recipients data held alice@example.com'])
  assert.equal(rcpt.stop, undefined)
  assert.deepEqual(session.heldRecipients(), ['alice@example.com'])
  const data = await session.data()
  assert.deepEqual(summary(data), ['recipients data refuse alice@example.com'])
  assert.equal(data.stop?.verdict?.reason, 'unknown recipients: alice@example.com')
})

test('at=data: a callout\'s unknown user is decided by [callout] monitor, not [recipients] monitor', async () => {
  const callout = { enabled: 'true', domains: 'callout.example' }
  const monitored = new Session({ monitor: false, rcpt: rcptPart({ recipients: { at: 'data', monitor: 'false' }, callout: { ...callout, monitor: 'true' } }) })
  assert.deepEqual(summary(await monitored.rcpt(rcptFacts('gone@callout.example'))), ['callout data held gone@callout.example'])
  const accepted = await monitored.data()
  assert.deepEqual(summary(accepted), ['callout data monitor gone@callout.example'])
  assert.equal(accepted.stop, undefined)

  const strict = new Session({ monitor: false, rcpt: rcptPart({ recipients: { at: 'data', monitor: 'true' }, callout: { ...callout, monitor: 'false' } }) })
  await strict.rcpt(rcptFacts('gone@callout.example'))
  const refused = await strict.data()
  assert.deepEqual(summary(refused), ['callout data refuse gone@callout.example'])
  assert.equal(refused.stop?.check, 'callout')
})

test('at=data: held verdicts of two checks, each by its own settings; the refusal names the first recipient of the check that refuses', async () => {
  const session = new Session({
    monitor: false,
    rcpt: rcptPart({ recipients: { domains: 'example.com', at: 'data' }, callout: { enabled: 'true', domains: 'callout.example', monitor: 'true' } }, ['bob@example.com']),
  })
  for (const r of ['gone@callout.example', 'alice@example.com', 'carol@example.com', 'bob@example.com']) await session.rcpt(rcptFacts(r))
  assert.deepEqual(session.heldRecipients(), ['gone@callout.example', 'alice@example.com', 'carol@example.com'])
  const data = await session.data()
  assert.deepEqual(summary(data), ['callout data monitor gone@callout.example', 'recipients data refuse alice@example.com'])
  assert.equal(data.stop?.verdict?.reason, 'unknown recipients: alice@example.com, carol@example.com')
})

test('DATA: a content refusal comes first; the held recipients are then not decided', async () => {
  const dataOwn = readSettings('support-codes-data.ini', { loop: { max_received: '1' } }).settings
  const session = new Session({ monitor: false, data: dataOwn, rcpt: rcptPart({ recipients: { domains: 'example.com', at: 'data' } }) })
  await session.rcpt(rcptFacts('alice@example.com'))
  const data = await session.data({
    received: ['from a', 'from b'], self: ['mx.test.example'], banned: new Set(),
    raw: async () => { throw new Error('not read after G16') },
    authenticate: async () => { throw new Error('not asked after G16') },
  })
  assert.deepEqual(summary(data), ['loop data refuse'])
})

test('PhaseRun.merge keeps the first stop and everything recorded', () => {
  const a = new PhaseRun(() => true, 'connect')
  a.fire('ptr', { id: 'G1F', vars: { ip: '192.0.2.1' } }, 'no PTR')
  a.warn('w1')
  const b = new PhaseRun(() => false, 'mailfrom')
  b.fire('null_sender', { id: 'G34' }, 'MAIL FROM:<>')
  b.note({ x: 1 })
  const c = new PhaseRun(() => false, 'mailfrom')
  c.fire('sender_rate', { id: 'G29' }, 'many')
  a.merge(b).merge(c)
  assert.deepEqual(summary(a), ['ptr connect monitor', 'null_sender mailfrom refuse', 'sender_rate mailfrom refuse'])
  assert.equal(a.stop?.check, 'null_sender')
  assert.deepEqual(a.warnings, ['w1'])
  assert.deepEqual(a.notes, [{ x: 1 }])
})

test('a fail-open path is counted where the session is told to count', () => {
  const counters = new CodeCounters()
  const connect = readSettings('support-codes-connect.ini', { ptr: { dns_error: 'accept' } }).settings
  return new Session({ monitor: false, connect, counters }).mail({ ptr: async () => ({ ip: '192.0.2.1', ptr: { status: 'error', code: 'ETIMEOUT' } }) }).then((run) => {
    assert.deepEqual(summary(run), ['ptr connect pass'])
    assert.match(run.failedOpen[0], /\[fail-open ptr #1\]$/)
    assert.deepEqual(counters.failOpenCounts(), { ptr: 1 })
  })
})

test('skip: relaying, then authenticated, then the allow list', () => {
  const allow = netList(['192.0.2.0/24'])
  assert.equal(skipFor({ ip: '192.0.2.9', relaying: true, authenticated: true }, allow), 'relaying')
  assert.equal(skipFor({ ip: '192.0.2.9', relaying: false, authenticated: true }, allow), 'authenticated')
  assert.equal(skipFor({ ip: '192.0.2.9', relaying: false, authenticated: false }, allow), 'allow list')
  assert.equal(skipFor({ ip: '198.51.100.1', relaying: false, authenticated: false }, allow), undefined)
})
