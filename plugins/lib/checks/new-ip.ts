// G28: a client IP that is new (first seen less than [new_ip] probation ago)
// or untrusted (most of its recent recipients refused) may send at most
// [new_ip] limit messages per period, so that it builds a reputation before
// it sends in volume.
import { Verdict } from '../codes/render'

export interface NewIpFacts {
  /** Seconds since the IP was first seen; undefined when the store could not say. */
  age: number | undefined
  /** Messages accepted from the IP in the last period. */
  accepted: number | undefined
  /** Recipients of the IP accepted and refused in the last period. */
  rcptOk: number | undefined
  rcptRefused: number | undefined
}

export interface NewIpConfig {
  limit: number
  probation: number
  untrusted_min: number
  untrusted_ratio: number
}

export function isUntrusted(f: Pick<NewIpFacts, 'rcptOk' | 'rcptRefused'>, cfg: Pick<NewIpConfig, 'untrusted_min' | 'untrusted_ratio'>): boolean {
  if (f.rcptOk === undefined || f.rcptRefused === undefined) return false
  const tried = f.rcptOk + f.rcptRefused
  return tried >= cfg.untrusted_min && tried > 0 && f.rcptRefused / tried > cfg.untrusted_ratio
}

export function newIpCheck(facts: NewIpFacts, cfg: NewIpConfig): Verdict | undefined {
  if (!cfg.limit || facts.accepted === undefined) return undefined
  const isNew = facts.age !== undefined && facts.age < cfg.probation
  const untrusted = isUntrusted(facts, cfg)
  if (!isNew && !untrusted) return undefined
  if (facts.accepted < cfg.limit) return undefined
  const what = isNew ? `first seen ${Math.floor(facts.age as number)} s ago` : `untrusted: ${facts.rcptRefused} of ${(facts.rcptOk ?? 0) + (facts.rcptRefused ?? 0)} recipients refused`
  return { id: 'G28', reason: `${what}; ${Math.floor(facts.accepted)} messages in the window, limit ${cfg.limit}` }
}
