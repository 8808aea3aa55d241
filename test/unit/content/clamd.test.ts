// The clamd client against servers that fail, run by the test itself on
// loopback, and its address and reply parsing. Against a real clamd:
// test/rig/clamd-client.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as net from 'node:net'
import { clamdAddress, clamdPing, clamdScan, parseReply } from '../../../plugins/lib/content/clamd'
import { freePort } from '../../rig/ports'

const opts = { timeoutMs: 5000, maxBytes: 25 * 1024 * 1024 }

test('nothing listening, a server that never answers, an error reply: errors, never throws', async (t) => {
  const port = await freePort()
  const refused = await clamdScan(`127.0.0.1:${port}`, Buffer.from('x'), opts)
  assert.equal(refused.status, 'error')
  assert.match(await clamdPing(`127.0.0.1:${port}`, 500) ?? '', /ECONNREFUSED/)

  const silent = net.createServer((s) => s.on('data', () => undefined))
  const errorer = net.createServer((s) => s.once('data', () => s.end('INSTREAM size limit exceeded. ERROR\0')))
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
  await new Promise<void>((r) => errorer.listen(0, '127.0.0.1', r))
  t.after(() => { silent.close(); errorer.close() })
  const t0 = Date.now()
  const hung = await clamdScan(`127.0.0.1:${(silent.address() as net.AddressInfo).port}`, Buffer.from('x'), { ...opts, timeoutMs: 300 })
  // The reply says the timeout ended the scan; the bound is [virus] timeout's
  // promise, with a wide margin for a loaded machine (timers fire late there).
  assert.deepEqual(hung, { status: 'error', why: 'no answer within 300 ms' })
  assert.ok(Date.now() - t0 < 300 + 2700, `took ${Date.now() - t0} ms`)
  const err = await clamdScan(`127.0.0.1:${(errorer.address() as net.AddressInfo).port}`, Buffer.from('x'), opts)
  assert.deepEqual(err, { status: 'error', why: 'INSTREAM size limit exceeded. ERROR' })
})

test('addresses and replies', () => {
  assert.deepEqual(clamdAddress('/run/clamav/clamd.ctl'), { path: '/run/clamav/clamd.ctl' })
  assert.deepEqual(clamdAddress('127.0.0.1:3310'), { host: '127.0.0.1', port: 3310 })
  assert.deepEqual(clamdAddress('[::1]:3310'), { host: '::1', port: 3310 })
  assert.deepEqual(parseReply('stream: Win.Test.EICAR_HDB-1 FOUND'), { status: 'virus', name: 'Win.Test.EICAR_HDB-1' })
  assert.deepEqual(parseReply('stream: OK'), { status: 'clean' })
  assert.deepEqual(parseReply(''), { status: 'error', why: 'empty reply' })
})
