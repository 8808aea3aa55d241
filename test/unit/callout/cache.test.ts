// Callout answers kept in the counter store.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { CalloutAnswer } from '../../../plugins/lib/callout/answer'
import { cachedCallout } from '../../../plugins/lib/callout/cache'
import { MemoryStore } from '../../../plugins/lib/store/memory'
import { CounterStore } from '../../../plugins/lib/store/types'

describe('cachedCallout', () => {
  const valid: CalloutAnswer = { result: 'valid', code: 250, reply: '250 OK' }
  const unknown: CalloutAnswer = { result: 'unknown', code: 550, reply: '550 5.1.1 No such user' }
  const tempfail: CalloutAnswer = { result: 'tempfail', code: 450, reply: '450 later' }

  test('valid lives positiveTtl, unknown negativeTtl, tempfail not at all', async () => {
    let now = 1_000_000
    const store = new MemoryStore(() => now)
    let runs = 0
    const run = (a: CalloutAnswer) => async (): Promise<CalloutAnswer> => {
      runs++
      return a
    }
    try {
      assert.deepEqual(await cachedCallout(store, 'Good@Example.com', 3600, 60, run(valid)), { answer: valid, cached: false })
      assert.deepEqual(await cachedCallout(store, 'good@example.com', 3600, 60, run(unknown)), { answer: valid, cached: true })
      assert.equal(await store.fetch('sc:callout:good@example.com') !== undefined, true)
      assert.equal((await cachedCallout(store, 'bad@example.com', 3600, 60, run(unknown))).cached, false)
      assert.deepEqual(await cachedCallout(store, 'bad@example.com', 3600, 60, run(valid)), { answer: unknown, cached: true })
      assert.equal(runs, 2)

      now += 61_000
      assert.deepEqual(await cachedCallout(store, 'bad@example.com', 3600, 60, run(valid)), { answer: valid, cached: false }, 'negative expired')
      assert.equal((await cachedCallout(store, 'good@example.com', 3600, 60, run(unknown))).cached, true, 'positive still there')
      now += 3600_000
      assert.equal((await cachedCallout(store, 'good@example.com', 3600, 60, run(unknown))).cached, false, 'positive expired')

      runs = 0
      assert.equal((await cachedCallout(store, 't@example.com', 3600, 60, run(tempfail))).cached, false)
      assert.equal((await cachedCallout(store, 't@example.com', 3600, 60, run(tempfail))).cached, false)
      assert.equal(runs, 2)
      assert.equal(await store.fetch('sc:callout:t@example.com'), undefined)
    } finally {
      await store.close()
    }
  })

  test('a failing store is a miss, never an error', async () => {
    const broken = new MemoryStore()
    const fail = async (): Promise<never> => {
      throw new Error('store down')
    }
    const store: CounterStore = Object.assign(broken, { fetch: fail, put: fail })
    try {
      assert.deepEqual(await cachedCallout(store, 'x@example.com', 60, 60, async () => valid), { answer: valid, cached: false })
    } finally {
      await broken.close()
    }
  })
})
