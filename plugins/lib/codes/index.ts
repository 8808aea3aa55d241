// codes/: the provider's reply lines as data and what turns a verdict into one:
// the catalog (the only place reply text lives), the verdict type and the
// renderer, the per-code counters, and the generators of docs/codes.md and
// `support-codes codes`.
//
// May import: nothing else in plugins/lib.
export {}
