// The clamd client against a real clamd, and against servers that fail.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import * as net from 'node:net'
import { clamdAddress, clamdPing, clamdScan, parseReply } from '../../../plugins/lib/content/clamd'
import { Clamd, EICAR } from '../../rig/clamd'
import { freePort } from '../../rig/ports'

let clamd: Clamd
before(async () => { clamd = await Clamd.start() })
after(async () => { await clamd.stop() })

const opts = { timeoutMs: 5000, maxBytes: 25 * 1024 * 1024 }

test('a clean message and EICAR, over the unix socket', async () => {
  assert.deepEqual(await clamdScan(clamd.socket, Buffer.from('Subject: hi\r\n\r\nhello\r\n'), opts), { status: 'clean' })
  const found = await clamdScan(clamd.socket, Buffer.from(`Subject: x\r\n\r\n${EICAR}\r\n`), { ...opts, chunkBytes: 7 })
  assert.equal(found.status, 'virus')
  assert.match((found as { name: string }).name, /^Eicar-Test-Signature/)
  assert.equal(await clamdPing(clamd.socket, 2000), undefined)
})

test('over TCP', async (t) => {
  const tcp = await Clamd.start({ tcp: true })
  t.after(() => tcp.stop())
  assert.match(tcp.socket, /^127\.0\.0\.1:\d+$/)
  assert.equal((await clamdScan(tcp.socket, Buffer.from(EICAR), opts)).status, 'virus')
})

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
  assert.deepEqual(hung, { status: 'error', why: 'no answer within 300 ms' })
  assert.ok(Date.now() - t0 < 1000)
  const err = await clamdScan(`127.0.0.1:${(errorer.address() as net.AddressInfo).port}`, Buffer.from('x'), opts)
  assert.deepEqual(err, { status: 'error', why: 'INSTREAM size limit exceeded. ERROR' })
})

test('only max_bytes are sent', async () => {
  // EICAR placed past the limit is not seen: the client sent only the first bytes.
  const big = Buffer.concat([Buffer.alloc(4096, 'a'), Buffer.from(EICAR)])
  assert.deepEqual(await clamdScan(clamd.socket, big, { ...opts, maxBytes: 1024 }), { status: 'clean' })
})

test('addresses and replies', () => {
  assert.deepEqual(clamdAddress('/run/clamav/clamd.ctl'), { path: '/run/clamav/clamd.ctl' })
  assert.deepEqual(clamdAddress('127.0.0.1:3310'), { host: '127.0.0.1', port: 3310 })
  assert.deepEqual(clamdAddress('[::1]:3310'), { host: '::1', port: 3310 })
  assert.deepEqual(parseReply('stream: Win.Test.EICAR_HDB-1 FOUND'), { status: 'virus', name: 'Win.Test.EICAR_HDB-1' })
  assert.deepEqual(parseReply('stream: OK'), { status: 'clean' })
  assert.deepEqual(parseReply(''), { status: 'error', why: 'empty reply' })
})
