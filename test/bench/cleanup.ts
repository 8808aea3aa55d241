// Everything the benchmark starts (Haraka, the load generator, temp folders)
// is registered here and taken down when the run ends: normally, by an
// error, or by Ctrl-C / SIGTERM / SIGHUP. The actions are synchronous so
// that they also run from process.on('exit').
const actions = new Map<number, () => void>()
let nextId = 1
let hooked = false

function runAll(): void {
  const list = [...actions.values()].reverse()
  actions.clear()
  for (const fn of list) {
    try {
      fn()
    } catch {
      // best effort: the others must still run
    }
  }
}

/** Registers a synchronous clean-up action; returns the function that drops it. */
export function onCleanup(fn: () => void): () => void {
  hook()
  const id = nextId++
  actions.set(id, fn)
  return () => {
    actions.delete(id)
  }
}

/** Runs every registered action now. */
export function cleanupNow(): void {
  runAll()
}

function hook(): void {
  if (hooked) return
  hooked = true
  process.on('exit', runAll)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}: stopping everything the benchmark started\n`)
      runAll()
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1))
    })
  }
}
