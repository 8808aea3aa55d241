// haraka/: the seam with Haraka: its objects typed, the hook wrapper (next() exactly
// once), replies Haraka can send, results and log lines, the plugin's
// settings through haraka-config, the message kept as it arrives, and
// haraka-plugin-spf's result.
//
// May import: codes, config, dns, mime, store, lists, auth, callout, content, checks, phases.
export {}
