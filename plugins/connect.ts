// support-codes/connect: G2 (concurrent connections per client IP) at
// connect, and G1F (no PTR) decided at connect and sent at MAIL FROM, since
// Haraka can only answer 421 or 554 to a new connection.
import constants from 'haraka-constants'
import { PtrFacts } from './lib/checks/ptr'
import { Lookup } from './lib/dns/resolver'
import { Connection } from './lib/haraka/types'
import { hook, skipReason, registerPlugin } from './lib/haraka/hook'
import { PluginConfig } from './lib/haraka/plugin-config'
import { concurrencyKey, gatherPtr } from './lib/phases/connect'
import { Session } from './lib/phases/session'
import { applyRun } from './lib/haraka/apply-run'
import { CounterStore } from './lib/store'
import { instanceOf, PluginWith, processOf } from './lib/haraka/process'
import { HarakaHttpServer, serveOnHarakaHttp } from './lib/metrics/route'

// Registered by name, once for the bundle (registerCapabilities).
export { hook_capabilities as support_codes_capabilities } from './lib/haraka/hook'

const FILE = 'support-codes-connect.ini'
const NOTE = 'support_codes_connect'
/** A Haraka instance of this plugin: its settings are read in register(). */
type ConnectPlugin = PluginWith<PluginConfig<typeof FILE>>
const configOf = (plugin: ConnectPlugin): PluginConfig<typeof FILE> => instanceOf(plugin)

interface ConnState {
  skip?: string
  /** The count after this connection joined, once the store answered. */
  counted?: Promise<number | undefined>
  /** This connection as a member of its client's count. */
  member?: string
  store?: CounterStore
  key?: string
  ptrLookup?: Promise<Lookup<string>>
  ptr?: Promise<PtrFacts>
}

export function register(this: ConnectPlugin): void {
  registerPlugin(this, () => new PluginConfig(this, FILE))
}

// GET /metrics on Haraka's own HTTP server (http.ini listen). Haraka runs
// init_http once in each process that has the server: the only one, or in
// cluster mode each worker (the scrape then returns the master's sum over
// all workers, lib/metrics/cluster.ts). The route is the process's, not a
// plugin's, so one plugin of the bundle registers it: connect, the first
// of the four in config/plugins.
export function hook_init_http(this: ConnectPlugin, next: () => void, server: HarakaHttpServer): void {
  if (serveOnHarakaHttp(server, processOf(this).metrics)) this.loginfo('metrics served at GET /metrics of Haraka\'s HTTP server')
  next()
}

function state(connection: Connection): ConnState | undefined {
  return connection.notes[NOTE] as ConnState | undefined
}

// Starts the count and the PTR lookup as soon as the client's address is
// known (after a PROXY header), so that neither holds up the greeting longer
// than it must and both run beside other connections.
export const hook_connect_init = hook('connect_init', function (this: ConnectPlugin, connection: Connection) {
  const config = configOf(this)
  const skip = skipReason(connection, config.allow)
  const st: ConnState = { skip }
  connection.notes[NOTE] = st
  const { own, shared } = config
  // The PTR is looked up for skipped clients too: it answers Haraka's own
  // lookup_rdns (below), and only the verdict is skipped.
  if (own.ptr.enabled) {
    const dns = config.dns()
    st.ptrLookup = dns.ptr(connection.remote.ip)
    if (!skip) st.ptr = gatherPtr(dns, connection.remote.ip, st.ptrLookup, own.ptr.fcrdns)
  }
  if (skip || own.concurrency.max <= 0) return undefined
  const store = config.store()
  st.store = store
  st.key = concurrencyKey(connection.remote.ip, shared.store.ipv6_prefix)
  st.member = connection.uuid
  st.counted = store.join(st.key, st.member).catch((err: unknown) => {
    connection.logdebug(this, `concurrency not counted: ${String(err)}`)
    return undefined
  })
  return undefined
})

// Haraka looks the client's PTR up itself before the greeting, with the
// system resolver's own timeouts. The lookup above answers it instead: one
// lookup, not two, and the greeting waits at most [dns] timeout. Haraka's
// names for the outcomes are kept (remote.host NXDOMAIN or DNSERROR).
export const hook_lookup_rdns = hook('lookup_rdns', async function (this: ConnectPlugin, connection: Connection) {
  const lookup = state(connection)?.ptrLookup
  if (!lookup) return undefined
  const ptr = await lookup
  const host = ptr.status === 'ok' ? ptr.values[0] : ptr.status === 'none' ? 'NXDOMAIN' : 'DNSERROR'
  return { retval: constants.ok, msg: host }
})

export const hook_connect = hook('connect', async function (this: ConnectPlugin, connection: Connection) {
  const st = state(connection)
  if (!st) return undefined
  if (st.skip) {
    connection.results.add(this, { skip: st.skip, emit: true })
    return undefined
  }
  const { own, shared } = configOf(this)
  const connections = st.counted ? await st.counted : undefined
  const run = new Session({ monitor: shared.main.monitor, connect: own, counters: processOf(this).counters }).connect(connections)
  return applyRun(run, { plugin: this, connection, results: connection.results, phase: 'connect', hook: 'connect', tagAll: shared.main.tag_all })
})

// G1F goes out at every MAIL FROM of the connection: a client that tries
// again in the same session gets the same answer.
export const hook_mail = hook('mail', async function (this: ConnectPlugin, connection: Connection) {
  const st = state(connection)
  if (!st?.ptr || st.skip) return undefined
  const txn = connection.transaction
  if (!txn) return undefined
  const config = configOf(this)
  if (skipReason(connection, config.allow)) return undefined
  const { own, shared } = config
  const ptr = st.ptr
  const run = await new Session({ monitor: shared.main.monitor, connect: own, counters: processOf(this).counters }).mail({ ptr: () => ptr })
  return applyRun(run, { plugin: this, connection, results: txn.results, phase: 'connect', hook: 'mail', tagAll: shared.main.tag_all })
})

// Every way a connection ends (QUIT, reset, timeout, another plugin's
// DENYDISCONNECT) runs Haraka's disconnect hooks; the connection leaves its
// count here, not waited for. Leaving is idempotent, so it is sent even when
// the join failed at the client (a join that timed out may still have
// landed), and it follows the join on the same Redis connection.
export const hook_disconnect = hook('disconnect', function (this: ConnectPlugin, connection: Connection) {
  const st = state(connection)
  if (!st?.counted || !st.store || !st.key || !st.member) return undefined
  st.counted = undefined
  st.store.leave(st.key, st.member).catch((err: unknown) => {
    connection.logdebug(this, `concurrency not uncounted: ${String(err)}`)
  })
  return undefined
})
