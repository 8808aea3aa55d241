// phases/: the checks of each SMTP phase in order (connect, MAIL FROM, RCPT TO,
// DATA), recorded in a PhaseRun, and the session driver that runs them for
// one message, for the plugins and for `support-codes explain` alike.
//
// May import: codes, config, dns, mime, store, lists, auth, callout, content, checks.
export {}
