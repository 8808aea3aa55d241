// The load and fault scenario, short: part of `npm test`. 40 concurrent
// connections and 600 sessions, every fault compressed to two seconds; the
// full run is soak.long.ts (`npm run soak`). Environment: SOAK_SEED=N
// another mix, SOAK_LOG=FILE keeps Haraka's log, SOAK_STRICT=1 also fails
// on lookups, callouts and scans that ran out of time with no fault on.
import { soakSuite } from './soak'

soakSuite({
  name: 'short',
  concurrency: 40,
  messages: 600,
  faultMs: 2000,
  gapMs: 1500,
  dnsDelayMs: 400,
  clientTimeoutMs: 8000,
  deadlineMs: 45_000,
  seed: Number(process.env.SOAK_SEED ?? 1),
})
