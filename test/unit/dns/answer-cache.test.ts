// The answer cache on its own: entries last their lifetime, the oldest goes
// when it is full, and a lifetime of 0 turns it off.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AnswerCache } from '../../../plugins/lib/dns/answer-cache'

test('the cache forgets after its lifetime and drops the oldest when full', () => {
  let now = 0
  const c = new AnswerCache<number>(1000, 2, () => now)
  c.set('a', 1)
  c.set('b', 2)
  c.set('c', 3)
  assert.equal(c.get('a'), undefined)
  assert.equal(c.get('c'), 3)
  now = 1000
  assert.equal(c.get('c'), undefined)
  assert.equal(new AnswerCache<number>(0).enabled, false)
})
