// The one timeout race every DNS lookup goes through: the answer when it
// comes first, ETIMEOUT naming the question when the timer does.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { dnsError, withTimeout } from '../../../plugins/lib/dns/timeout'

test('withTimeout gives the answer when it comes first, ETIMEOUT when the timer does', async () => {
  assert.equal(await withTimeout(Promise.resolve('x'), 1000, 'A x'), 'x')
  await assert.rejects(withTimeout(Promise.reject(dnsError('ENOTFOUND', 'gone')), 1000, 'A x'), { code: 'ENOTFOUND', message: 'gone' })
  let settle: (v: string) => void = () => undefined
  const never = new Promise<string>((resolve) => { settle = resolve })
  await assert.rejects(withTimeout(never, 10, 'A slow.example'), { code: 'ETIMEOUT', message: 'A slow.example: no answer within 10 ms' })
  settle('late')
})
