// haraka/: the seam with Haraka: its objects typed, the hook wrapper (next() exactly
// once), replies Haraka can send, a session's record turned into results,
// log lines and the reply (apply-run.ts), the plugin's settings through
// haraka-config, what the four plugins share in one process (process.ts),
// the message kept as it arrives, and haraka-plugin-spf's result.
//
// May import: codes, config, dns, mime, store, lists, auth, callout, content, checks, phases, metrics.
export {}
