// The process object the four plugins share: their settings' DNS views come
// from its one registry (the checks' Dns and mailauth's resolver on one
// front-end), and its Redis store counts what it let through in its counters.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BundleProcess, SupportCodesPlugin } from '../../../plugins/lib/haraka/process'
import { PluginConfig } from '../../../plugins/lib/haraka/plugin-config'
import { HarakaConfig } from '../../../plugins/lib/haraka/types'
import { StoreUnavailable } from '../../../plugins/lib/store'

/** A plugin on the package's default settings, in the given process. */
function plugin(name: string, supportCodes: BundleProcess): SupportCodesPlugin {
  const cfg: HarakaConfig = { get: (_file: string, type?: unknown) => (type === 'data' ? [] : {}), module_config: () => cfg }
  const noop = (): void => undefined
  return {
    name, supportCodes,
    config: { get: () => undefined, module_config: () => cfg },
    register_hook: noop, logdebug: noop, loginfo: noop, lognotice: noop, logwarn: noop, logerror: noop,
  }
}

test('plugins of one process share its DNS views; another process has its own', () => {
  const one = new BundleProcess()
  const connect = new PluginConfig(plugin('support-codes/connect', one), 'support-codes-connect.ini', undefined, false)
  const data = new PluginConfig(plugin('support-codes/data', one), 'support-codes-data.ini', undefined, false)
  assert.equal(connect.dns(), data.dns())
  assert.equal(connect.mailauth(), data.mailauth())
  assert.equal(connect.dnsUncached(), data.dnsUncached())
  assert.notEqual(connect.dnsUncached(), connect.dns())
  const d = connect.shared.dns
  assert.equal(one.dns.dns(d.servers, d.timeout, d.cache_ttl), connect.dns())
  assert.equal(one.dns.frontEnd('dns', d.servers, d.timeout, d.cache_ttl), one.dns.frontEnd('mailauth', d.servers, d.timeout, d.cache_ttl))
  assert.equal(connect.mailauth().timeoutMs, d.timeout * 1000)

  const other = new PluginConfig(plugin('support-codes/connect', new BundleProcess()), 'support-codes-connect.ini', undefined, false)
  assert.notEqual(other.dns(), connect.dns())
  assert.notEqual(other.mailauth(), connect.mailauth())
})

test('the Redis store counts an operation it let through in its process\'s counters', async () => {
  const one = new BundleProcess()
  const quiet = { logwarn: (): void => undefined, loginfo: (): void => undefined }
  // Nothing listens on port 1: the store is not connected and refuses at once.
  const store = one.stores.get('redis', { kind: 'server', host: '127.0.0.1', port: 1 }, 0.3, quiet)
  try {
    await assert.rejects(store.incr('k', 1, 60), (err: Error) => err instanceof StoreUnavailable && /^redis 127\.0\.0\.1:1: not connected/.test(err.message))
    await assert.rejects(store.get(['k']), StoreUnavailable)
    assert.deepEqual(one.counters.failOpenCounts(), { store: 2 })
    assert.deepEqual(new BundleProcess().counters.failOpenCounts(), {})
  } finally {
    await one.stores.close()
  }
})
