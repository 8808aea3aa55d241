// The hook wrapper: next() exactly once, whatever the body does.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import constants from 'haraka-constants'
import { hook, skipReason, hook_capabilities, decide, registerCapabilities, CAPABILITIES_METHOD } from '../../../plugins/lib/haraka/hook'
import { netList } from '../../../plugins/lib/config/netlist'
import { Connection, HarakaPlugin, ResultStore } from '../../../plugins/lib/haraka/types'
import { BundleProcess, SupportCodesPlugin } from '../../../plugins/lib/haraka/process'
import { waitFor } from '../../rig/wait'

function fakePlugin(): HarakaPlugin & { errors: string[] } {
  const errors: string[] = []
  const noop = (): void => undefined
  return {
    name: 'test', errors, config: { get: noop, module_config: () => { throw new Error('unused') } },
    register_hook: noop, logdebug: noop, loginfo: noop, lognotice: noop, logwarn: noop,
    logerror: (...a: unknown[]) => { errors.push(a.map(String).join(' ')) },
  }
}

// Once next() has been called, a turn of the event loop lets every settled
// promise of the body run: a second call would be seen by then.
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

async function run(body: () => unknown): Promise<{ calls: unknown[][]; errors: string[] }> {
  const plugin = fakePlugin()
  const calls: unknown[][] = []
  const wrapped = hook('t', body as never)
  wrapped.call(plugin, (...args: unknown[]) => { calls.push(args) })
  await waitFor('next() to be called', () => calls.length > 0)
  await settled()
  return { calls, errors: plugin.errors }
}

test('an outcome is passed to next once', async () => {
  const r = await run(async () => ({ retval: constants.deny, msg: 'no' }))
  assert.deepEqual(r.calls, [[constants.deny, 'no']])
})

test('no outcome: next() with nothing', async () => {
  const r = await run(() => undefined)
  assert.deepEqual(r.calls, [[]])
})

test('a throw or a rejection lets the mail through and is logged', async () => {
  for (const body of [() => { throw new Error('boom') }, async () => { throw new Error('boom') }, () => Promise.reject(new Error('boom'))]) {
    const r = await run(body)
    assert.deepEqual(r.calls, [[]])
    assert.match(r.errors[0], /t failed, letting the mail through \[fail-open bug #\d+\]: Error: boom/)
  }
})

test('a next() that throws is caught, not re-called', async () => {
  const plugin = fakePlugin()
  let n = 0
  hook('t', async () => undefined).call(plugin, () => { n++; throw new Error('socket gone') })
  await waitFor('the refused reply to be logged', () => plugin.errors.length > 0)
  await settled()
  assert.equal(n, 1)
  assert.match(plugin.errors[0], /Haraka failed to take the reply: Error: socket gone/)
})

function conn(ip: string, extra: Partial<Connection> = {}): Connection {
  return { remote: { ip }, relaying: false, notes: {}, ...extra } as Connection
}

test('skip: relaying, authenticated, allow list', () => {
  const allow = netList(['192.0.2.0/24', '2001:db8::/32'])
  assert.equal(skipReason(conn('192.0.2.9'), allow), 'allow list')
  assert.equal(skipReason(conn('2001:db8::9'), allow), 'allow list')
  assert.equal(skipReason(conn('198.51.100.1'), allow), undefined)
  assert.equal(skipReason(conn('198.51.100.1', { relaying: true }), allow), 'relaying')
  assert.equal(skipReason(conn('198.51.100.1', { notes: { auth_user: 'u' } }), allow), 'authenticated')
  assert.equal(skipReason(conn('198.51.100.1'), netList([])), undefined)
})

test('EHLO gets ENHANCEDSTATUSCODES once', () => {
  const c = conn('192.0.2.1', { capabilities: ['PIPELINING'] })
  let nexts = 0
  hook_capabilities(() => { nexts++ }, c)
  hook_capabilities(() => { nexts++ }, c)
  assert.deepEqual(c.capabilities, ['PIPELINING', 'ENHANCEDSTATUSCODES'])
  assert.equal(nexts, 2)
})

test('the capabilities hook is registered by the first of the plugins only', () => {
  const registered: string[] = []
  const plugin = (name: string): HarakaPlugin => ({ ...fakePlugin(), name, register_hook: (h, m) => registered.push(`${name} ${h} ${m}`) })
  registerCapabilities(plugin('support-codes/connect'))
  registerCapabilities(plugin('support-codes/mailfrom'))
  registerCapabilities(plugin('support-codes/data'))
  // The same plugin loaded again registers again.
  registerCapabilities(plugin('support-codes/connect'))
  assert.deepEqual(registered, [`support-codes/connect capabilities ${CAPABILITIES_METHOD}`, `support-codes/connect capabilities ${CAPABILITIES_METHOD}`])
})

test('each process registers the capabilities hook once: a plugin given its own shared parts registers it again', () => {
  const registered: string[] = []
  const plugin = (name: string, supportCodes: BundleProcess): SupportCodesPlugin => ({ ...fakePlugin(), name, supportCodes, register_hook: (h, m) => registered.push(`${name} ${h} ${m}`) })
  const one = new BundleProcess()
  registerCapabilities(plugin('support-codes/rcpt', one))
  registerCapabilities(plugin('support-codes/data', one))
  registerCapabilities(plugin('support-codes/data', new BundleProcess()))
  assert.deepEqual(registered, [`support-codes/rcpt capabilities ${CAPABILITIES_METHOD}`, `support-codes/data capabilities ${CAPABILITIES_METHOD}`])
})

test('decide counts per code in the plugin\'s process', () => {
  const results: ResultStore = { add: () => undefined, push: () => undefined, get: () => undefined }
  const c = { ...conn('192.0.2.1'), lognotice: () => undefined } as Connection
  const supportCodes = new BundleProcess()
  const p: SupportCodesPlugin = { ...fakePlugin(), supportCodes }
  const args = { plugin: p, connection: c, results, phase: 'mailfrom', hook: 'mail', check: 'null_sender', verdict: { id: 'G34' }, tagAll: false } as const
  decide({ ...args, monitor: false })
  decide({ ...args, monitor: false })
  decide({ ...args, monitor: true })
  assert.deepEqual(supportCodes.counters.codeCounts(), { G34: 2, 'monitor:G34': 1 })
})

test('decide: refusal and monitor are recorded', () => {
  const added: Record<string, unknown>[] = []
  const pushed: Record<string, unknown>[] = []
  const results: ResultStore = { add: (_p, o) => added.push(o), push: (_p, o) => pushed.push(o), get: () => undefined }
  const notices: string[] = []
  const c = { ...conn('192.0.2.1'), lognotice: (_p: unknown, m: string) => notices.push(m) } as unknown as Connection
  const base = { plugin: fakePlugin(), connection: c, results, phase: 'mailfrom', hook: 'mail', check: 'null_sender', verdict: { id: 'G34' }, tagAll: false } as const
  const out = decide({ ...base, monitor: false })
  assert.deepEqual(out, { retval: constants.deny, msg: '5.0.0 Sender is not allowed to send with empty mail_from' })
  assert.equal(decide({ ...base, monitor: true }), undefined)
  assert.deepEqual(added.map((a) => a.fail ?? a.msg), ['G34', 'monitor null_sender: 550 5.0.0 Sender is not allowed to send with empty mail_from'])
  assert.deepEqual(pushed, [{ monitor: 'G34' }])
  assert.match(notices[0], /^null_sender: sent "550 5\.0\.0 Sender is not allowed to send with empty mail_from" \[G34 #\d+\]$/)
  assert.match(notices[1], /^monitor: null_sender would send .*; accepted \[G34 #1\]$/)
})

test('decide: a verdict without a value its line needs still refuses, with the row\'s fixed text, and says why', () => {
  const results: ResultStore = { add: () => undefined, push: () => undefined, get: () => undefined }
  const errors: string[] = []
  const c = { ...conn('192.0.2.1'), lognotice: () => undefined, logerror: (_p: unknown, m: string) => errors.push(m) } as unknown as Connection
  const out = decide({ plugin: fakePlugin(), connection: c, results, phase: 'rcpt', hook: 'rcpt', check: 'recipients', verdict: { id: 'G8/G9' }, monitor: false, tagAll: false })
  assert.deepEqual(out, { retval: constants.deny, msg: '5.1.1 {EMAIL}: Email address could not be found, or was misspelled (G8, G9)' })
  assert.deepEqual(errors, ["recipients: no value for {EMAIL}; the row's fixed text was used"])
})
