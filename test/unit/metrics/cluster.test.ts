// Cluster mode with real node:cluster workers: one scrape, at the master or
// at a worker (as Haraka's HTTP route in a worker asks the master), returns
// the sum over the workers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import cluster, { Worker } from 'node:cluster'
import * as path from 'node:path'
import { BundleMetrics } from '../../../plugins/lib/metrics/bundle-metrics'
import { waitFor } from '../../rig/wait'

const LINE = /^support_codes_replies_total\{code="G34",phase="mailfrom",action="refused"\} (\d+)$/m

function refusals(text: string): number | undefined {
  const m = LINE.exec(text)
  return m ? Number(m[1]) : undefined
}

/** The next message from `w` that has `key`. */
function next<T>(w: Worker, key: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: Record<string, unknown>): void => {
      if (!(key in m)) return
      w.off('message', on)
      resolve(m[key] as T)
    }
    w.on('message', on)
  })
}

test('two workers: the master\'s scrape and a worker\'s scrape are the sum', async (t) => {
  const master = new BundleMetrics()
  master.serve('test')
  cluster.setupPrimary({ exec: path.join(__dirname, 'cluster-worker.js'), execArgv: [], silent: false })
  const workers = [cluster.fork(), cluster.fork()]
  t.after(() => {
    for (const w of workers) w.kill()
  })
  await Promise.all(workers.map((w) => next(w, 'up')))
  await Promise.all([3, 4].map((n, i) => {
    const done = next(workers[i], 'refused')
    workers[i].send({ refuse: n })
    return done
  }))

  const atMaster = await master.scrape()
  assert.equal(atMaster.contentType, master.registry.contentType)
  assert.equal(refusals(atMaster.text), 7, atMaster.text)

  // Scrapes at both workers at once share the master's one sum.
  const texts = await Promise.all(workers.map((w) => {
    const got = next<string>(w, 'scraped')
    w.send({ scrape: true })
    return got
  }))
  for (const text of texts) assert.equal(refusals(text), 7, text)

  // The master's own (empty) registry is not part of the sum.
  master.reply('G34', 'mailfrom', 'refused')
  assert.equal(refusals((await master.scrape()).text), 7)

  for (const w of workers) w.kill()
  await waitFor('the workers to exit', () => Object.keys(cluster.workers ?? {}).length === 0)
  // No workers left: a process on its own serves its own registry.
  assert.equal(refusals((await master.scrape()).text), 1)
})
