// Who skips every check: one rule for the plugins and for explain.
import { NetList } from '../config/netlist'

export interface Client {
  ip: string
  /** The server lets the client relay (relay ACL, a relaying plugin). */
  relaying: boolean
  /** The client logged in (SMTP AUTH). */
  authenticated: boolean
}

/** Why a client skips every check, or undefined when it does not. */
export function skipFor(client: Client, allow: Pick<NetList, 'size' | 'has'>): string | undefined {
  if (client.relaying) return 'relaying'
  if (client.authenticated) return 'authenticated'
  if (allow.size && allow.has(client.ip)) return 'allow list'
  return undefined
}
