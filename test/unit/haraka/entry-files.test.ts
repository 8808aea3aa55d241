// The four entry files as Haraka uses them: register() on a plugin object,
// then a hook with a connection; each hook calls next() exactly once, with
// the reply the catalog gives. Each plugin object has its own settings and
// its own shared parts (a fresh BundleProcess), so nothing carries over from
// one test to the next.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import constants from 'haraka-constants'
import * as connectPlugin from '../../../plugins/connect'
import * as mailfromPlugin from '../../../plugins/mailfrom'
import * as rcptPlugin from '../../../plugins/rcpt'
import * as dataPlugin from '../../../plugins/data'
import { BundleProcess, SupportCodesPlugin } from '../../../plugins/lib/haraka/process'
import { Address, Connection, HarakaConfig, Next, ResultStore, Transaction } from '../../../plugins/lib/haraka/types'

type Files = Record<string, Record<string, Record<string, string>> | string[]>

interface TestPlugin extends SupportCodesPlugin {
  supportCodes: BundleProcess
  hooks: string[]
  errors: string[]
}

/** A plugin object as Haraka makes one, reading the given files (ini: by section; list files: lines). */
function plugin(name: string, files: Files): TestPlugin {
  const cfg: HarakaConfig = {
    get: (file: string, type?: unknown) => files[file] ?? (type === 'data' ? [] : {}),
    module_config: () => cfg,
  }
  const noop = (): void => undefined
  const hooks: string[] = []
  const errors: string[] = []
  return {
    name, hooks, errors, supportCodes: new BundleProcess(),
    config: { get: (file: string) => (file === 'me' ? 'mx.test.example' : undefined), module_config: () => cfg },
    register_hook: (hook: string, method: string) => { hooks.push(`${hook} ${method}`) },
    logdebug: noop, loginfo: noop, lognotice: noop, logwarn: noop,
    logerror: (...a: unknown[]) => { errors.push(a.map(String).join(' ')) },
  }
}

interface Recorded extends ResultStore {
  added: Record<string, unknown>[]
}

function results(): Recorded {
  const added: Record<string, unknown>[] = []
  return { added, add: (_p, o) => added.push(o), push: (_p, o) => added.push(o), get: () => undefined }
}

function address(text: string): Address {
  const at = text.lastIndexOf('@')
  return { user: at < 0 ? null : text.slice(0, at), host: at < 0 ? null : text.slice(at + 1), isNull: () => text === '', address: text }
}

let uuids = 0

function connection(ip: string): Connection & { results: Recorded } {
  const noop = (): void => undefined
  return {
    uuid: `c${++uuids}`, remote: { ip }, local: {}, relaying: false, notes: {}, results: results(), transaction: null,
    logdebug: noop, loginfo: noop, lognotice: noop, logwarn: noop, logerror: noop,
  }
}

function transaction(c: Connection, from: string, received: string[] = []): Transaction & { results: Recorded } {
  const txn = {
    uuid: `${c.uuid}.1`, notes: {}, results: results(), mail_from: address(from), rcpt_to: [],
    header: { get_all: (name: string) => (name === 'Received' ? received : []) },
    add_data: () => undefined,
  }
  c.transaction = txn
  return txn
}

type Hook<A extends unknown[]> = (this: never, next: Next, ...args: A) => void

/** Runs a hook; resolves with every next() call made, once the first came and a moment passed for any second one. */
function drive<A extends unknown[]>(p: TestPlugin, fn: Hook<A>, ...args: A): Promise<unknown[][]> {
  const calls: unknown[][] = []
  const call = fn as (this: TestPlugin, next: Next, ...args: A) => void
  return new Promise((resolve) => {
    call.call(p, (...a: unknown[]) => {
      calls.push(a)
      setTimeout(() => resolve(calls), 20)
    }, ...args)
  })
}

test('connect: G2 at the connection past [concurrency] max, and the count goes back down at disconnect', async (t) => {
  const p = plugin('support-codes/connect', { 'support-codes-connect.ini': { concurrency: { max: '1' }, ptr: { enabled: 'false' } } })
  t.after(() => p.supportCodes.stores.close())
  connectPlugin.register.call(p)
  assert.deepEqual(p.hooks, ['capabilities support_codes_capabilities'])
  const first = connection('192.0.2.10')
  assert.deepEqual(await drive(p, connectPlugin.hook_connect_init, first), [[]])
  assert.deepEqual(await drive(p, connectPlugin.hook_connect, first), [[]])
  const second = connection('192.0.2.10')
  await drive(p, connectPlugin.hook_connect_init, second)
  assert.deepEqual(await drive(p, connectPlugin.hook_connect, second), [[constants.denysoftdisconnect, 'Too many concurrent connections from this client (G2)']])
  assert.deepEqual(second.results.added.map((r) => r.fail), ['G2'])
  await drive(p, connectPlugin.hook_disconnect, second)
  await drive(p, connectPlugin.hook_disconnect, first)
  const third = connection('192.0.2.10')
  await drive(p, connectPlugin.hook_connect_init, third)
  assert.deepEqual(await drive(p, connectPlugin.hook_connect, third), [[]])
  assert.deepEqual(p.errors, [])
})

test('mailfrom: G34 for the null sender; a relaying client is skipped', async (t) => {
  const p = plugin('support-codes/mailfrom', {})
  t.after(() => p.supportCodes.stores.close())
  mailfromPlugin.register.call(p)
  const c = connection('192.0.2.11')
  const txn = transaction(c, '')
  assert.deepEqual(await drive(p, mailfromPlugin.hook_mail, c, [address('')]), [[constants.deny, '5.0.0 Sender is not allowed to send with empty mail_from']])
  assert.deepEqual(txn.results.added.map((r) => r.fail).filter(Boolean), ['G34'])
  const relay = { ...connection('192.0.2.12'), relaying: true }
  const relayed = transaction(relay, '')
  assert.deepEqual(await drive(p, mailfromPlugin.hook_mail, relay, [address('')]), [[]])
  assert.deepEqual(relayed.results.added, [{ skip: 'relaying', emit: true }])
  assert.deepEqual(p.errors, [])
})

test('rcpt: G8/G9 for a recipient the directory does not know; one it knows passes', async (t) => {
  const p = plugin('support-codes/rcpt', {
    'support-codes-rcpt.ini': { dnsbl: { zones: '' }, recipients: { domains: 'example.com' }, sender_mx: { enabled: 'false' } },
    'support-codes.recipients': ['bob@example.com'],
  })
  t.after(() => {
    rcptPlugin.shutdown.call(p)
    return p.supportCodes.stores.close()
  })
  rcptPlugin.register.call(p)
  assert.deepEqual(p.hooks, ['capabilities support_codes_capabilities', 'data_post held_recipients'])
  const c = connection('192.0.2.13')
  assert.deepEqual(await drive(p, rcptPlugin.hook_connect_init, c), [[]])
  transaction(c, 'a@sender.example')
  assert.deepEqual(await drive(p, rcptPlugin.hook_mail, c, [address('a@sender.example')]), [[]])
  assert.deepEqual(await drive(p, rcptPlugin.hook_rcpt, c, [address('alice@example.com')]), [
    [constants.deny, '5.1.1 alice@example.com: Email address could not be found, or was misspelled (G8, G9)'],
  ])
  assert.deepEqual(await drive(p, rcptPlugin.hook_rcpt, c, [address('bob@example.com')]), [[]])
  assert.deepEqual(p.errors, [])
})

test('rcpt: with at=data, the refusal waits for the held_recipients hook after DATA', async (t) => {
  const p = plugin('support-codes/rcpt', {
    'support-codes-rcpt.ini': { dnsbl: { zones: '' }, recipients: { domains: 'example.com', at: 'data' }, sender_mx: { enabled: 'false' } },
    'support-codes.recipients': ['bob@example.com'],
  })
  t.after(() => {
    rcptPlugin.shutdown.call(p)
    return p.supportCodes.stores.close()
  })
  rcptPlugin.register.call(p)
  const c = connection('192.0.2.14')
  await drive(p, rcptPlugin.hook_connect_init, c)
  const txn = transaction(c, 'a@sender.example')
  await drive(p, rcptPlugin.hook_mail, c, [address('a@sender.example')])
  assert.deepEqual(await drive(p, rcptPlugin.hook_rcpt, c, [address('alice@example.com')]), [[]])
  assert.deepEqual(await drive(p, rcptPlugin.held_recipients, c), [
    [constants.deny, '5.1.1 alice@example.com: Email address could not be found, or was misspelled (G8, G9)'],
  ])
  assert.deepEqual(txn.results.added.map((r) => r.msg).filter(Boolean), [
    'recipients: alice@example.com unknown; refusal held until DATA',
    '550 5.1.1 alice@example.com: Email address could not be found, or was misspelled (G8, G9)',
  ])
})

test('data: G16 for a message past [loop] max_received, before the message is read', async (t) => {
  const p = plugin('support-codes/data', { 'support-codes-data.ini': { loop: { max_received: '3' } } })
  t.after(() => p.supportCodes.stores.close())
  dataPlugin.register.call(p)
  const c = connection('192.0.2.15')
  assert.deepEqual(await drive(p, dataPlugin.hook_connect_init, c), [[]])
  transaction(c, 'a@sender.example', ['a', 'b', 'c', 'd'].map((h) => `from ${h}.example by relay.example`))
  assert.deepEqual(await drive(p, dataPlugin.hook_data_post, c), [[constants.denysoft, '4.4.6 Routing loop detected (G16)']])
  assert.deepEqual(await drive(p, dataPlugin.hook_disconnect, c), [[]])
  assert.deepEqual(p.errors, [])
})

test('a hook of a plugin that was never registered lets the mail through and says why', async () => {
  const p = plugin('support-codes/mailfrom', {})
  const c = connection('192.0.2.16')
  transaction(c, '')
  assert.deepEqual(await drive(p, mailfromPlugin.hook_mail, c, [address('')]), [[]])
  assert.match(p.errors[0], /^mail failed, letting the mail through \[fail-open bug #1\]: Error: support-codes\/mailfrom: a hook ran before register\(\)/)
})
