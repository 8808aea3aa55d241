// dns/: DNS for every check, through one front-end (front-end.ts: the c-ares
// query with [dns] servers, bounded by [dns] timeout with the one timeout race
// in timeout.ts, and the one answer cache). Two views of it: the checks' Dns
// (resolver.ts: "no such record" kept apart from "could not find out") and the
// resolver handed to mailauth (mailauth-view.ts, node:dns answers and error
// codes), with one message's resolver and lookup budget (message-resolver.ts).
// A process's front-ends and views are one DnsRegistry (registry.ts): views
// on the same [dns] settings share a front-end and its cache.
//
// May import: nothing else in plugins/lib.
export {}
