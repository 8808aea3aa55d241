// callout/: live recipient verification: the SMTP dialogue with the recipient
// domain's server, the reply parser, the per-server and per-client slots, the
// routes to call, and the answers kept in the counter store.
//
// May import: dns, store.
export {}
