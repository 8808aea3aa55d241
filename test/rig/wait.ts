// Waiting for something to become true, for every test: a condition is
// polled on a short interval, so a test waits for the event itself instead
// of sleeping a fixed time and hoping it was enough. The limit is only a
// guard against a test hanging; it is set generously because a loaded
// machine can be slow, and the failure says what was awaited and how long.

/**
 * Resolves once cond() is true; rejects with `what` and the time waited when
 * it is still false after `ms`. An error thrown by cond() ends the wait with
 * that error (a condition can give up early, e.g. when a process has exited).
 * A condition that does real work each time (sends a message, opens
 * connections) passes a longer `everyMs` so the wait does not load the server.
 */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 5000, everyMs = 10): Promise<void> {
  const started = Date.now()
  for (;;) {
    if (await cond()) return
    const waited = Date.now() - started
    if (waited > ms) throw new Error(`timed out waiting for ${what} (waited ${waited} ms)`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

