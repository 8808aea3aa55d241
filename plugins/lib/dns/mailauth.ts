// What auth/ takes from dns/: the resolver handed to mailauth (its node:dns
// shape and error codes: mailauth-view.ts), one message's resolver and
// lookup budget (message-resolver.ts), and the timeout race.

export type { MailauthResolver, ResolverFn } from './mailauth-view'
export type { TimedAnswer } from './front-end'
export { dnsError, withTimeout } from './timeout'
export { BUDGET_CODE, LookupBudget, messageResolver } from './message-resolver'
export type { LookupUse, MessageResolver, TrackedResolver } from './message-resolver'
