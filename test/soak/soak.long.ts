// The load and fault scenario at full size, run by `npm run soak` only (not
// by `npm test`): 200 concurrent connections sending 10,000 messages while
// DNS turns slow and then SERVFAILs, Redis and clamd are killed and
// restarted, and the callout server hangs, each for five seconds. About a
// minute on 2 cores. Environment: as soak-short.test.ts, and
// SOAK_LOG_LEVEL (default info).
import { soakSuite } from './soak'

soakSuite({
  name: 'long',
  concurrency: 200,
  messages: 10_000,
  faultMs: 5000,
  gapMs: 3000,
  dnsDelayMs: 400,
  clientTimeoutMs: 8000,
  deadlineMs: 6 * 60_000,
  logLevel: process.env.SOAK_LOG_LEVEL ?? 'info',
  seed: Number(process.env.SOAK_SEED ?? 1),
})
