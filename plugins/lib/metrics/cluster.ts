// Haraka cluster mode (smtp.ini nodes=N): the master forks the workers and
// runs no SMTP itself; each worker counts the mail it handles in its own
// registry. One scrape must return the sum over the workers, so:
// - every worker answers the master's requests for its registry
//   (prom-client's AggregatorRegistry protocol over the cluster IPC);
// - the master sums them (clusterMetrics()) for its own listener, and for a
//   worker that asks it over IPC: Haraka's HTTP server runs in each worker,
//   and the scrape lands on whichever worker accepted it;
// - a single Haraka process serves its own registry.
import cluster from 'node:cluster'
import { AggregatorRegistry, PrometheusContentType, Registry } from 'prom-client'

/** What a scrape gets: the exposition text and its Content-Type. */
export interface Exposition {
  contentType: string
  text: string
}

// Not prom-client's message types, and no `cmd` or `event` field, which
// Haraka's own handlers of the cluster IPC act on.
const ASK = 'support-codes:metrics-sum'
const ANSWER = 'support-codes:metrics-sum-answer'
// prom-client gives the workers 5 s to answer the master, then fails the sum.
const WAIT_MS = 6000

interface Ask { type: typeof ASK; id: number }
interface Answer { type: typeof ANSWER; id: number; text?: string; error?: string }

function isAsk(m: unknown): m is Ask {
  return typeof m === 'object' && m !== null && (m as Ask).type === ASK && Number.isSafeInteger((m as Ask).id)
}

function isAnswer(m: unknown): m is Answer {
  return typeof m === 'object' && m !== null && (m as Answer).type === ANSWER && Number.isSafeInteger((m as Answer).id)
}

let aggregator: AggregatorRegistry<PrometheusContentType> | undefined
/** The master's sum in progress: scrapes that come while it runs share it. */
let summing: Promise<string> | undefined

function sumOfWorkers(): Promise<string> {
  aggregator ??= new AggregatorRegistry()
  const sum = (summing ??= aggregator.clusterMetrics().finally(() => {
    summing = undefined
  }))
  return sum
}

function hasWorkers(): boolean {
  return cluster.isPrimary && Object.keys(cluster.workers ?? {}).length > 0
}

let joined = false

/**
 * Makes this process's registry part of the cluster's sum: a worker answers
 * the master's requests with it; the master answers the workers' requests
 * for the sum. Outside a cluster it only adds listeners that never fire.
 * Once per process (the process's BundleMetrics).
 */
export function joinCluster(registry: Registry): void {
  if (joined) return
  joined = true
  if (cluster.isWorker) {
    AggregatorRegistry.setRegistries([registry])
    // Its constructor adds the worker's answering listener.
    aggregator = new AggregatorRegistry()
    process.on('message', onAnswer)
    return
  }
  cluster.on('message', (worker, message: unknown) => {
    if (!isAsk(message)) return
    const reply = (answer: Answer): void => {
      // A worker that went away in the meantime gets nothing.
      if (!worker.isConnected()) return
      try {
        worker.send(answer)
      } catch {
        // its channel closed between the test and the send
      }
    }
    sumOfWorkers().then(
      (text) => reply({ type: ANSWER, id: message.id, text }),
      (err: unknown) => reply({ type: ANSWER, id: message.id, error: err instanceof Error ? err.message : String(err) }),
    )
  })
}

/** The worker's one question to the master in flight (scrapes meanwhile share it). */
let asking: { id: number; promise: Promise<string>; settle(err: Error | undefined, text?: string): void } | undefined
let nextId = 0

function onAnswer(message: unknown): void {
  if (!isAnswer(message) || !asking || message.id !== asking.id) return
  if (typeof message.text === 'string') asking.settle(undefined, message.text)
  else asking.settle(new Error(`the master could not sum the workers' metrics: ${String(message.error)}`))
}

function askMaster(): Promise<string> {
  if (asking) return asking.promise
  const id = nextId++
  let settle!: (err: Error | undefined, text?: string) => void
  const promise = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => settle(new Error(`the master did not answer in ${WAIT_MS} ms`)), WAIT_MS)
    settle = (err, text) => {
      clearTimeout(timer)
      if (asking?.id === id) asking = undefined
      if (err) reject(err)
      else resolve(text ?? '')
    }
  })
  asking = { id, promise, settle }
  const ask: Ask = { type: ASK, id }
  try {
    process.send?.(ask, undefined, {}, (err: Error | null) => {
      if (err) settle(err)
    })
  } catch (err) {
    settle(err instanceof Error ? err : new Error(String(err)))
  }
  return promise
}

/**
 * What a scrape served by this process returns: in a cluster worker the
 * sum the master makes, in the master the sum over its workers, in a single
 * process its own registry.
 */
export async function scrape(registry: Registry): Promise<Exposition> {
  const contentType = registry.contentType
  if (cluster.isWorker && joined) return { contentType, text: await askMaster() }
  if (hasWorkers()) return { contentType, text: await sumOfWorkers() }
  return { contentType, text: await registry.metrics() }
}
