// explain/: `support-codes explain`: a node's config read from files and one message
// run through the same session driver as the plugins, offline from Haraka.
//
// May import: codes, config, dns, mime, store, lists, auth, callout, content, checks, phases, haraka.
export {}
