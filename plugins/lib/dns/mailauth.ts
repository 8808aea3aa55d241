// What auth/ takes from dns/: the resolver handed to mailauth (its node:dns
// shape and error codes: mailauth-view.ts), one message's resolver and
// lookup budget (message-resolver.ts), and the timeout race.
import { DnsRegistry } from './registry'
import { MailauthResolver } from './mailauth-view'

export type { MailauthResolver, ResolverFn } from './mailauth-view'
export type { TimedAnswer } from './front-end'
export { dnsError, withTimeout } from './timeout'
export { BUDGET_CODE, LookupBudget, messageResolver } from './message-resolver'
export type { LookupUse, MessageResolver, TrackedResolver } from './message-resolver'

// The plugins take theirs from their process's registry (haraka/process.ts);
// this one serves callers with no process, such as tests against a DNS server.
let standalone: DnsRegistry | undefined

/**
 * A resolver for mailauth outside a Haraka process: one per [dns] settings,
 * as DnsRegistry.mailauth() gives it, on a registry of its own.
 */
export function mailauthResolver(servers: readonly string[], timeoutSec: number, cacheSec = 0): MailauthResolver {
  standalone ??= new DnsRegistry()
  return standalone.mailauth(servers, timeoutSec, cacheSec)
}
