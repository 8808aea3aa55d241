// phases/: the checks of each SMTP phase in order (connect, MAIL FROM, RCPT TO,
// DATA), recorded in a PhaseRun (run.ts), the session driver that runs them
// for one message, stage by stage, with monitor mode and the recipients held
// until DATA (session.ts), and the one rule of which clients skip every
// check (skip.ts), and the checks such a client skips (checks-of.ts): for
// the plugins and for `support-codes explain` alike.
//
// May import: codes, config, dns, mime, store, lists, auth, callout, content, checks.
export {}
