// One way to send a command whatever the deployment: one Redis, a Redis
// Cluster or a Sentinel set, each through @redis/client's own support (slot
// routing, MOVED handling and topology refresh for the cluster; master
// discovery and failover for Sentinel). Commands never wait in an offline
// queue (mail must not wait for Redis): a command for a connection that is
// down fails at once, and every other one within [store] timeout.
import { createClient, createCluster, createSentinel } from '@redis/client'
import { RedisTarget } from './redis-target'

const CONNECT_TIMEOUT_MS = 2000
const RECONNECT_MAX_MS = 2000
/** After a cluster node stops answering, how soon the client asks the cluster for its new layout. */
const CLUSTER_REFRESH_MS = 1000
/** How often the Sentinel client asks the sentinels for changes, besides their own notices. */
const SENTINEL_SCAN_MS = 2000

const reconnectStrategy = (n: number): number => Math.min(100 * 2 ** n, RECONNECT_MAX_MS)
/**
 * No timer of the client's own per command: the store bounds every wait
 * itself, and the client's (an AbortSignal.timeout that fires even after the
 * reply) cost about 25 µs of CPU per command, measured.
 */
const commandOptions = { timeout: 0 }

export type Reply = string | number | null | Reply[]

export interface RedisLink {
  /** Sends one command; key routes it on a cluster (the first key the command touches). */
  send(key: string | undefined, args: string[]): Promise<Reply>
  /** True when connected (on a cluster: when the layout is known). */
  readonly isReady: boolean
  onError(listener: (err: Error) => void): void
  onReady(listener: () => void): void
  close(): Promise<void>
}

/** Opens the link; connection failures go to onError and the link keeps trying. */
export function openLink(target: RedisTarget): RedisLink {
  if (target.kind === 'cluster') return clusterLink(target)
  if (target.kind === 'sentinel') return sentinelLink(target)
  return serverLink(target)
}

/**
 * Connects, and again with backoff after each failed attempt until it
 * succeeds or stop() is called: a cluster's or Sentinel set's first connect
 * fails when no seed answers, and their clients do not retry that by
 * themselves.
 */
function keepConnecting(connect: () => Promise<unknown>, failed: (err: Error) => void, connected: () => void = () => undefined): { stop(): void } {
  let stopped = false
  let attempt = 0
  let retry: NodeJS.Timeout | undefined
  const tryOnce = (): void => {
    connect().then(connected, (err: Error) => {
      failed(err)
      if (stopped) return
      retry = setTimeout(tryOnce, reconnectStrategy(attempt++))
      retry.unref()
    })
  }
  tryOnce()
  return {
    stop: () => {
      stopped = true
      clearTimeout(retry)
    },
  }
}

function serverLink(t: Extract<RedisTarget, { kind: 'server' }>): RedisLink {
  const client = createClient({
    socket: t.path
      ? { path: t.path, connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy }
      : { host: t.host ?? '127.0.0.1', port: t.port ?? 6379, connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy },
    database: t.database,
    username: t.username,
    password: t.password,
    disableOfflineQueue: true,
    commandOptions,
  })
  const errors: Array<(err: Error) => void> = []
  client.on('error', (err: Error) => errors.forEach((f) => f(err)))
  client.connect().catch((err: Error) => errors.forEach((f) => f(err)))
  return {
    send: (_key, args) => client.sendCommand(args),
    get isReady() {
      return client.isReady
    },
    onError: (f) => errors.push(f),
    onReady: (f) => void client.on('ready', f),
    close: async () => {
      try {
        if (client.isOpen) await client.close()
      } catch {
        client.destroy()
      }
    },
  }
}

function clusterLink(t: Extract<RedisTarget, { kind: 'cluster' }>): RedisLink {
  const cluster = createCluster({
    rootNodes: t.nodes.map((n) => ({ socket: { host: n.host, port: n.port, connectTimeout: CONNECT_TIMEOUT_MS } })),
    defaults: {
      socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy },
      username: t.username,
      password: t.password,
      disableOfflineQueue: true,
    },
    commandOptions,
    topologyRefreshOnReconnectionAttemptStrategy: CLUSTER_REFRESH_MS,
  })
  const errors: Array<(err: Error) => void> = []
  const readies: Array<() => void> = []
  const failed = (err: Error): void => errors.forEach((f) => f(err))
  cluster.on('error', failed)
  cluster.on('node-error', failed)
  // Ready once the layout is known (connect resolved), and again when a
  // node comes back while it is.
  const ready = (): void => {
    if (cluster.isReady) readies.forEach((f) => f())
  }
  cluster.on('node-ready', ready)
  const connecting = keepConnecting(() => cluster.connect(), failed, ready)
  return {
    send: (key, args) => cluster.sendCommand(key, false, args),
    get isReady() {
      return cluster.isReady
    },
    onError: (f) => errors.push(f),
    onReady: (f) => readies.push(f),
    close: async () => {
      connecting.stop()
      cluster.destroy()
    },
  }
}

function sentinelLink(t: Extract<RedisTarget, { kind: 'sentinel' }>): RedisLink {
  const sentinel = createSentinel({
    name: t.name,
    sentinelRootNodes: t.nodes,
    nodeClientOptions: {
      socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy },
      database: t.database,
      username: t.username,
      password: t.password,
      disableOfflineQueue: true,
    },
    sentinelClientOptions: {
      socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy },
      username: t.sentinelUsername,
      password: t.sentinelPassword,
    },
    masterPoolSize: 1,
    commandOptions,
    scanInterval: SENTINEL_SCAN_MS,
    passthroughClientErrorEvents: true,
  })
  const errors: Array<(err: Error) => void> = []
  const failed = (err: Error): void => errors.forEach((f) => f(err))
  sentinel.on('error', (err: unknown) => failed(err instanceof Error ? err : new Error(String(err))))
  const connecting = keepConnecting(() => sentinel.connect(), failed)
  return {
    send: (_key, args) => sentinel.sendCommand(false, args),
    get isReady() {
      return sentinel.isReady
    },
    onError: (f) => errors.push(f),
    onReady: (f) => void sentinel.on('ready', f),
    close: async () => {
      connecting.stop()
      await sentinel.destroy().catch(() => undefined)
    },
  }
}
