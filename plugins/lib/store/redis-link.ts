// One way to send a command whatever the deployment: one Redis, a Redis
// Cluster or a Sentinel set, each through @redis/client's own support (slot
// routing, MOVED handling and topology refresh for the cluster; master
// discovery and failover for Sentinel). Commands never wait in an offline
// queue: mail must not wait for Redis.
import { createClient, createCluster, createSentinel } from '@redis/client'
import { RedisTarget } from './redis-target'

const CONNECT_TIMEOUT_MS = 2000
const RECONNECT_MAX_MS = 2000
/** After a cluster node stops answering, how soon the client asks the cluster for its new layout. */
const CLUSTER_REFRESH_MS = 1000
/** How often the Sentinel client asks the sentinels for changes, besides their own notices. */
const SENTINEL_SCAN_MS = 2000

const reconnectStrategy = (n: number): number => Math.min(100 * 2 ** n, RECONNECT_MAX_MS)

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

function serverLink(t: Extract<RedisTarget, { kind: 'server' }>): RedisLink {
  const client = createClient({
    socket: t.path
      ? { path: t.path, connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy }
      : { host: t.host ?? '127.0.0.1', port: t.port ?? 6379, connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy },
    database: t.database,
    username: t.username,
    password: t.password,
    disableOfflineQueue: true,
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

// A cluster's first connect fails when no seed answers; the cluster client
// does not retry that by itself, so the link does, with the same backoff.
function clusterLink(t: Extract<RedisTarget, { kind: 'cluster' }>): RedisLink {
  const cluster = createCluster({
    rootNodes: t.nodes.map((n) => ({ socket: { host: n.host, port: n.port, connectTimeout: CONNECT_TIMEOUT_MS } })),
    defaults: {
      socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy },
      username: t.username,
      password: t.password,
      disableOfflineQueue: true,
    },
    topologyRefreshOnReconnectionAttemptStrategy: CLUSTER_REFRESH_MS,
  })
  const errors: Array<(err: Error) => void> = []
  const readies: Array<() => void> = []
  let closed = false
  let attempt = 0
  let retry: NodeJS.Timeout | undefined
  cluster.on('error', (err: Error) => errors.forEach((f) => f(err)))
  cluster.on('node-error', (err: Error) => errors.forEach((f) => f(err)))
  cluster.on('node-ready', () => readies.forEach((f) => f()))
  const connect = (): void => {
    cluster.connect().then(() => readies.forEach((f) => f()), (err: Error) => {
      errors.forEach((f) => f(err))
      if (closed) return
      retry = setTimeout(connect, reconnectStrategy(attempt++))
      retry.unref()
    })
  }
  connect()
  return {
    send: (key, args) => cluster.sendCommand(key, false, args),
    get isReady() {
      return cluster.isReady
    },
    onError: (f) => errors.push(f),
    onReady: (f) => readies.push(f),
    close: async () => {
      closed = true
      clearTimeout(retry)
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
    scanInterval: SENTINEL_SCAN_MS,
    passthroughClientErrorEvents: true,
  })
  const errors: Array<(err: Error) => void> = []
  let closed = false
  let attempt = 0
  let retry: NodeJS.Timeout | undefined
  sentinel.on('error', (err: unknown) => errors.forEach((f) => f(err instanceof Error ? err : new Error(String(err)))))
  const connect = (): void => {
    sentinel.connect().catch((err: Error) => {
      errors.forEach((f) => f(err))
      if (closed) return
      retry = setTimeout(connect, reconnectStrategy(attempt++))
      retry.unref()
    })
  }
  connect()
  return {
    send: (_key, args) => sentinel.sendCommand(false, args),
    get isReady() {
      return sentinel.isReady
    },
    onError: (f) => errors.push(f),
    onReady: (f) => void sentinel.on('ready', f),
    close: async () => {
      closed = true
      clearTimeout(retry)
      await sentinel.destroy().catch(() => undefined)
    },
  }
}
