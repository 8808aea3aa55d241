// auth/: sPF, DKIM and DMARC through mailauth, bounded in lookups and time: the
// message's header section and From read linearly, DKIM input in slices,
// and the facts the SPF and DMARC checks judge.
//
// May import: dns.
export {}
