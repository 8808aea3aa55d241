// dns/: dNS for every check: the resolver front-end ([dns] servers and timeout,
// "no such record" kept apart from "could not find out"), its answer cache,
// and the resolver handed to mailauth.
//
// May import: nothing else in plugins/lib.
export {}
