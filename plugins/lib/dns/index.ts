// dns/: DNS for every check, through one front-end (front-end.ts: the c-ares
// query with [dns] servers, bounded by [dns] timeout with the one timeout race
// in timeout.ts, and the one answer cache). Two views of it: the checks' Dns
// (resolver.ts: "no such record" kept apart from "could not find out") and the
// resolver handed to mailauth (mailauth.ts, node:dns answers and error codes),
// with one message's resolver and lookup budget (message-resolver.ts).
//
// May import: nothing else in plugins/lib.
export {}
