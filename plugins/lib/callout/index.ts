// callout/: live recipient verification. callout.ts (the Callout class) ties
// together dialogue.ts (one SMTP dialogue, stopping at the RCPT TO answer),
// reply.ts (the reply parser and what a reply to RCPT TO means), answer.ts
// (the answer type), slots.ts (per-server and per-client limits and the
// queue), deadline.ts (the one bound on a whole callout) and targets.ts (the
// servers to call, routes from config); cache.ts keeps answers in the
// counter store.
//
// May import: dns, store.
export {}
