// The clamd client against a real clamd (test/rig/clamd.ts starts one),
// over its unix socket and over TCP.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { clamdPing, clamdScan } from '../../plugins/lib/content/clamd'
import { Clamd, EICAR } from './clamd'

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

test('only max_bytes are sent', async () => {
  // EICAR placed past the limit is not seen: the client sent only the first bytes.
  const big = Buffer.concat([Buffer.alloc(4096, 'a'), Buffer.from(EICAR)])
  assert.deepEqual(await clamdScan(clamd.socket, big, { ...opts, maxBytes: 1024 }), { status: 'clean' })
})
