// Where the Redis store connects, from redis.ini: haraka-plugin-redis's
// [server] and [opts], plus [cluster] and [sentinel] for the deployments that
// outgrow one Redis. [cluster] nodes wins over [sentinel], which wins over
// [server].

interface Auth {
  database?: number
  username?: string
  password?: string
}

export interface HostPort {
  host: string
  port: number
}

export type RedisTarget =
  | ({ kind: 'server'; host?: string; port?: number; path?: string } & Auth)
  | ({ kind: 'cluster'; nodes: HostPort[] } & Auth)
  | ({ kind: 'sentinel'; nodes: HostPort[]; name: string; sentinelUsername?: string; sentinelPassword?: string } & Auth)

type Ini = Record<string, Record<string, unknown> | undefined> | undefined

const str = (v: unknown): string | undefined => (v === undefined || v === null || String(v).trim() === '' ? undefined : String(v).trim())
const num = (v: unknown): number | undefined => (str(v) === undefined || !Number.isFinite(Number(v)) ? undefined : Number(v))

/** "host:port,host:port" (or "[v6]:port"); entries without a valid port are dropped and reported. */
export function hostPorts(list: unknown, bad: (entry: string) => void = () => undefined): HostPort[] {
  const out: HostPort[] = []
  for (const raw of (str(list) ?? '').split(/[\s,]+/)) {
    if (!raw) continue
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(raw) ?? /^([^:]+):(\d+)$/.exec(raw)
    const port = m ? Number(m[2]) : NaN
    if (!m || port < 1 || port > 65535) bad(raw)
    else out.push({ host: m[1], port })
  }
  return out
}

/**
 * redis.ini's target. [opts] (as haraka-plugin-redis names them: database,
 * username, password) are the data nodes' credentials on every topology;
 * [sentinel] username and password are the sentinels' own, when they have
 * any.
 */
export function redisTarget(ini: Ini, bad: (message: string) => void = () => undefined): RedisTarget {
  const opts = ini?.opts ?? {}
  const server = { ...opts, ...(ini?.server ?? {}) }
  const auth: Auth = {
    database: num(server.database ?? server.db),
    username: str(server.username),
    password: str(server.password),
  }
  const cluster = hostPorts(ini?.cluster?.nodes, (e) => bad(`redis.ini [cluster] nodes: "${e}" is not host:port; ignored`))
  if (cluster.length) return { kind: 'cluster', nodes: cluster, ...auth, database: undefined }
  const sentinel = hostPorts(ini?.sentinel?.nodes, (e) => bad(`redis.ini [sentinel] nodes: "${e}" is not host:port; ignored`))
  const name = str(ini?.sentinel?.name)
  if (sentinel.length && !name) bad('redis.ini [sentinel] nodes is set but name is not; [server] is used')
  if (sentinel.length && name) {
    return {
      kind: 'sentinel', nodes: sentinel, name, ...auth,
      sentinelUsername: str(ini?.sentinel?.username), sentinelPassword: str(ini?.sentinel?.password),
    }
  }
  return { kind: 'server', host: str(server.host ?? server.ip), port: num(server.port), path: str(server.path ?? server.socket), ...auth }
}

/** The target as the log names it. */
export function describeTarget(t: RedisTarget): string {
  if (t.kind === 'server') return `redis ${t.path ?? `${t.host ?? '127.0.0.1'}:${t.port ?? 6379}`}`
  const nodes = t.nodes.map((n) => `${n.host}:${n.port}`).join(',')
  return t.kind === 'cluster' ? `redis cluster ${nodes}` : `redis sentinel ${t.name} via ${nodes}`
}
