// The event-loop probe: while a hostile message is sent and processed, a
// new TCP connection to the node every 50 ms, timed from the connect call
// to the last byte of the 220 greeting, then QUIT and close. A Haraka whose
// event loop is held answers nobody, so the worst greeting time is how long
// the loop was held (plus a loopback round trip and Haraka's own connect
// hooks).
//
// The probe runs on a worker thread of its own: the test's thread also
// serves the test DNS server and writes the message, and a pause there
// (a large buffer, a GC) must not count against the node.
import * as net from 'node:net'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'

export interface ProbeOptions {
  port: number
  host?: string
  /** Milliseconds between two new connections. */
  intervalMs?: number
  /**
   * Client addresses presented through PROXY, one per connection in turn,
   * so that the probe's connections never count against the concurrency
   * limit (G2) of the client under test, nor against one another's.
   */
  proxyFrom?: readonly string[]
  /** A connection with no greeting after this long counts as this long, and is closed. */
  giveUpMs?: number
}

export interface ProbeResult {
  /** Connections made. */
  count: number
  /** The slowest time to a full greeting line, milliseconds. */
  worstMs: number
  /** The median time to greeting, milliseconds. */
  medianMs: number
  /** When the slowest connection was opened, milliseconds after the probe started: where in the session the node stalled. */
  worstAtMs: number
  /** Connections that got something other than a 220 greeting (the first line), or none. */
  failures: string[]
}

export interface Probe {
  /** Stops making connections, waits for those open to finish, and reports. */
  stop(): Promise<ProbeResult>
}

const DEFAULT_INTERVAL_MS = 50
// Longer than any stall the suite tolerates, short enough that a frozen node ends the test.
const DEFAULT_GIVE_UP_MS = 30000
// The default probe clients: 198.19.250.1-250, apart from the test clients in 198.18.0.0/16.
const DEFAULT_IPS = Array.from({ length: 250 }, (_, i) => `198.19.250.${i + 1}`)

interface WorkerInput {
  port: number
  host: string
  intervalMs: number
  ips: readonly string[]
  giveUpMs: number
}

/** Starts the probe on a worker thread; resolves once it is running. */
export async function startProbe(opts: ProbeOptions): Promise<Probe> {
  const input: WorkerInput = {
    port: opts.port,
    host: opts.host ?? '127.0.0.1',
    intervalMs: opts.intervalMs ?? DEFAULT_INTERVAL_MS,
    ips: opts.proxyFrom?.length ? opts.proxyFrom : DEFAULT_IPS,
    giveUpMs: opts.giveUpMs ?? DEFAULT_GIVE_UP_MS,
  }
  const worker = new Worker(__filename, { workerData: input })
  let ready: () => void = () => undefined
  const warm = new Promise<void>((resolve) => { ready = resolve })
  const result = new Promise<ProbeResult>((resolve, reject) => {
    worker.on('message', (m: { ready?: boolean; result?: ProbeResult }) => {
      if (m.ready) ready()
      if (m.result) resolve(m.result)
    })
    worker.once('error', reject)
    worker.once('exit', (code) => reject(new Error(`probe worker exited (${code}) without a result`)))
  })
  // Handled here too: a worker that fails before stop() must not end the test process.
  result.catch(() => undefined)
  await Promise.race([warm, result])
  return {
    async stop(): Promise<ProbeResult> {
      worker.postMessage('stop')
      const r = await result
      await worker.terminate()
      return r
    },
  }
}

/** One connection: milliseconds to the greeting line, or why there was none. */
function probeOnce(input: WorkerInput, ip: string): Promise<{ ms: number; failure?: string }> {
  return new Promise((resolve) => {
    const t0 = performance.now()
    const sock = net.connect({ host: input.host, port: input.port })
    let text = ''
    let done = false
    const finish = (failure?: string): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      const ms = performance.now() - t0
      if (!failure) sock.end('QUIT\r\n')
      // The QUIT reply is not waited for: the greeting is the measure.
      setTimeout(() => sock.destroy(), 1000).unref()
      resolve({ ms, failure })
    }
    const timer = setTimeout(() => finish(`no greeting within ${input.giveUpMs} ms`), input.giveUpMs)
    // HAProxy PROXY v1, as smtp-client.ts writes it (not imported: the worker loads only this file)
    sock.on('connect', () => sock.write(`PROXY TCP4 ${ip} 127.0.0.1 40000 25\r\n`))
    sock.on('data', (d: Buffer) => {
      text += d.toString('latin1')
      const nl = text.indexOf('\n')
      if (nl < 0) return
      const line = text.slice(0, nl).replace(/\r$/, '')
      finish(line.startsWith('220') ? undefined : `greeting: ${line}`)
    })
    sock.on('error', (err) => finish(`socket: ${err.message}`))
    sock.on('close', () => finish('closed before a greeting'))
  })
}

function runWorker(input: WorkerInput): void {
  const times: number[] = []
  const failures: string[] = []
  const pending = new Set<Promise<void>>()
  let t0 = 0
  let worst = { ms: -1, at: 0 }
  let n = 0
  const launch = (): void => {
    const ip = input.ips[n++ % input.ips.length]
    const at = performance.now() - t0
    const p = probeOnce(input, ip).then(({ ms, failure }) => {
      times.push(ms)
      if (ms > worst.ms) worst = { ms, at }
      if (failure) failures.push(`${ip}: ${failure} after ${Math.round(ms)} ms`)
      pending.delete(p)
    })
    pending.add(p)
  }
  let ticker: NodeJS.Timeout | undefined
  // One connection first, not counted: the worker's own first connect (loading
  // and compiling its code) took up to 100 ms here, which is not the node's.
  void probeOnce(input, input.ips[input.ips.length - 1]).then(() => {
    t0 = performance.now()
    launch()
    ticker = setInterval(launch, input.intervalMs)
    parentPort?.postMessage({ ready: true })
  })
  parentPort?.on('message', async (m: unknown) => {
    if (m !== 'stop') return
    clearInterval(ticker)
    await Promise.all([...pending])
    const sorted = [...times].sort((a, b) => a - b)
    const result: ProbeResult = {
      count: times.length,
      worstMs: Math.round(sorted[sorted.length - 1] ?? 0),
      medianMs: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0),
      worstAtMs: Math.round(worst.at),
      failures,
    }
    parentPort?.postMessage({ result })
  })
}

if (!isMainThread && (workerData as WorkerInput | undefined)?.port) runWorker(workerData as WorkerInput)
