// What every counter store promises, as tests: the memory store's unit test
// and the Redis store's rig test (against a real redis-server) both run it.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { CounterStore } from '../../plugins/lib/store/types'

export function storeContract(name: string, make: () => Promise<CounterStore>): void {
  describe(`${name} store`, () => {
    test('incr, decr never below zero, get, setIfAbsent, join and leave', async () => {
      const s = await make()
      try {
        assert.equal(await s.incr('k1', 1, 60), 1)
        assert.equal(await s.incr('k1', 2, 60), 3)
        assert.deepEqual(await s.get(['k1', 'missing']), [3, 0])
        assert.equal(await s.decr('k1', 1, 60), 2)
        assert.equal(await s.decr('k1', 5, 60), 0)
        assert.deepEqual(await s.get(['k1']), [0])
        assert.equal(await s.setIfAbsent('first', '100', 60), '100')
        assert.equal(await s.setIfAbsent('first', '200', 60), '100')
        assert.equal(await s.fetch('nothing'), undefined)
        await s.put('cached', 'valid', 60)
        assert.equal(await s.fetch('cached'), 'valid')
        await s.put('cached', 'unknown', 60)
        assert.equal(await s.fetch('cached'), 'unknown')
        assert.equal(await s.join('g', 'c1'), 1)
        assert.equal(await s.join('g', 'c2'), 2)
        assert.equal(await s.join('g', 'c1'), 2, 'a member joining again counts once')
        await s.leave('g', 'c1')
        assert.equal(await s.join('g', 'c3'), 2)
        await s.leave('g', 'c2')
        await s.leave('g', 'c3')
        await s.leave('g', 'c3')
        await s.leave('never', 'joined')
        assert.equal(await s.join('g', 'c4'), 1, 'leaving twice takes nothing more')
      } finally {
        await s.close()
      }
    })
  })
}
