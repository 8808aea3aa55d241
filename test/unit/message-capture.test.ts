// The message kept as it arrives: dot-unstuffed, in fixed chunks used
// again from message to message, put together at the end; dropped past the
// cap (the message is then read back from Haraka's stream).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { appendLine, assemble, CHUNK_BYTES, messageOf, newCapture, pooledBuffers, releaseMessage, spareChunks, startCapture } from '../../plugins/lib/message-capture'

// What Haraka's transaction offers: add_data per line, the stream at data_post.
function fakeTxn(): { add_data(line: Buffer | string): void; message_stream: { get_data(cb: (b: Buffer) => void): void }; lines: Buffer[] } {
  const lines: Buffer[] = []
  return {
    lines,
    add_data(line: Buffer | string): void {
      lines.push(Buffer.from(line))
    },
    message_stream: { get_data: (cb) => cb(Buffer.from('from the stream')) },
  }
}

test('lines are kept dot-unstuffed and still reach Haraka as sent', async () => {
  const txn = fakeTxn()
  startCapture(txn, 1 << 20)
  const sent = ['Subject: x\r\n', '\r\n', '..leading dot\r\n', '.\r\n', 'a.b\r\n', 'last']
  for (const l of sent) txn.add_data(Buffer.from(l))
  txn.add_data('string line\r\n')
  const raw = await messageOf(txn)
  assert.equal(raw.toString(), 'Subject: x\r\n\r\n.leading dot\r\n\r\na.b\r\nlaststring line\r\n')
  assert.deepEqual(txn.lines.map(String), [...sent, 'string line\r\n'])
})

// As Haraka's Transaction: add_data on the class, shared by every transaction.
class ClassTxn {
  lines: Buffer[] = []
  message_stream = { get_data: (cb: (b: Buffer) => void): void => cb(Buffer.from('from the stream')) }
  add_data(line: Buffer | string): void {
    this.lines.push(Buffer.from(line))
  }
}

test('a class transaction: add_data is wrapped once on the class, not per transaction, and copies only for captured ones', async () => {
  const captured = new ClassTxn()
  const other = new ClassTxn()
  startCapture(captured, 1 << 20)
  assert.equal(Object.hasOwn(captured, 'add_data'), false)
  const wrappedOnce = ClassTxn.prototype.add_data
  const third = new ClassTxn()
  startCapture(third, 1 << 20)
  assert.equal(ClassTxn.prototype.add_data, wrappedOnce)
  for (const t of [captured, other, third]) {
    t.add_data(Buffer.from('Subject: s\r\n'))
    t.add_data('\r\n')
    t.add_data(Buffer.from('..body\r\n'))
  }
  assert.equal((await messageOf(captured)).toString(), 'Subject: s\r\n\r\n.body\r\n')
  assert.equal((await messageOf(third)).toString(), 'Subject: s\r\n\r\n.body\r\n')
  // Not captured: read back from Haraka's stream; Haraka still got every line.
  assert.equal((await messageOf(other)).toString(), 'from the stream')
  for (const t of [captured, other, third]) assert.deepEqual(t.lines.map(String), ['Subject: s\r\n', '\r\n', '..body\r\n'])
})

test('lines fill fixed chunks, across chunk ends, and come out as one buffer of the message size', () => {
  const capture = newCapture(1 << 20)
  for (let i = 0; i < 300; i++) {
    // each its own buffer, as Haraka's lines are never written to once handed over
    const line = Buffer.alloc(1000, 0x61)
    line[998] = 0x0d
    line[999] = 0x0a
    line[0] = 0x30 + (i % 10)
    assert.equal(appendLine(capture, line), true)
  }
  assert.equal(capture.bytes, 300_000)
  assert.equal(capture.chunks.length, Math.ceil(300_000 / CHUNK_BYTES))
  const message = assemble(capture)
  assert.equal(message.length, 300_000)
  for (let i = 0; i < 300; i++) {
    assert.equal(message[i * 1000], 0x30 + (i % 10))
    assert.equal(message[i * 1000 + 1], 0x61)
    assert.equal(message[i * 1000 + 999], 0x0a)
  }
  assert.equal(assemble(capture), message)
})

test('a line longer than a chunk is split over several', () => {
  const capture = newCapture(1 << 20)
  const line = Buffer.alloc(CHUNK_BYTES * 2 + 10)
  for (let i = 0; i < line.length; i++) line[i] = i % 251
  line[0] = 0x2e
  assert.equal(appendLine(capture, line), true)
  assert.deepEqual(assemble(capture), line.subarray(1))
})

test('chunks are used again by the next message, which does not see the last one', () => {
  const first = newCapture(1 << 20)
  appendLine(first, Buffer.alloc(CHUNK_BYTES + 5, 0x78))
  assemble(first)
  const before = spareChunks()
  assert.ok(before >= 2)
  const second = newCapture(1 << 20)
  appendLine(second, Buffer.from('short\r\n'))
  assert.equal(assemble(second).toString(), 'short\r\n')
  assert.equal(spareChunks(), before)
})

test('lines read one after the other from one block are copied as one run, a stuffed dot ends a run', () => {
  const block = Buffer.from('A: 1\r\n\r\nline one\r\n..dot\r\nline two\r\n.\r\nend\r\n')
  const lines: Buffer[] = []
  for (let i = 0; i < block.length; ) {
    const lf = block.indexOf(0x0a, i) + 1
    lines.push(block.subarray(i, lf))
    i = lf
  }
  const capture = newCapture(1 << 20)
  for (const line of lines) appendLine(capture, line)
  // a line from elsewhere, then one from the same block again
  appendLine(capture, Buffer.from('elsewhere\r\n'))
  appendLine(capture, block.subarray(0, 6))
  assert.equal(assemble(capture).toString(), 'A: 1\r\n\r\nline one\r\n.dot\r\nline two\r\n\r\nend\r\nelsewhere\r\nA: 1\r\n')
  assert.equal(capture.bytes, assemble(capture).length)
})

test('past the cap the copy is dropped and the stream is read', async () => {
  const capture = newCapture(50_000)
  const line = Buffer.alloc(10_000, 0x63)
  for (let i = 0; i < 5; i++) assert.equal(appendLine(capture, line), true)
  assert.equal(capture.bytes, 50_000)
  assert.equal(appendLine(capture, Buffer.from('x')), false)
  assert.equal(capture.over, true)
  assert.equal(capture.chunks.length, 0)

  const txn = fakeTxn()
  startCapture(txn, 10)
  txn.add_data(Buffer.from('0123456789abc\r\n'))
  txn.add_data(Buffer.from('more\r\n'))
  assert.equal((await messageOf(txn)).toString(), 'from the stream')
  assert.equal(txn.lines.length, 2)
})

test('a stuffed dot does not count against the cap', () => {
  const capture = newCapture(3)
  assert.equal(appendLine(capture, Buffer.from('..ab')), true)
  assert.equal(assemble(capture).toString(), '.ab')
})

test('without a capture the stream is read', async () => {
  assert.equal((await messageOf(fakeTxn())).toString(), 'from the stream')
})

test('the message buffer goes back to a pool when the checks are done, and serves the next message', async () => {
  const first = fakeTxn()
  startCapture(first, 1 << 20)
  first.add_data(Buffer.alloc(100_000, 0x61))
  const raw = await messageOf(first)
  assert.equal(raw.length, 100_000)
  const pooled = pooledBuffers()
  releaseMessage(first)
  assert.equal(pooledBuffers(), pooled + 1)
  // Asked again after release, the message comes from Haraka's stream, not the reused buffer.
  assert.equal(String(await messageOf(first)), 'from the stream')

  const second = fakeTxn()
  startCapture(second, 1 << 20)
  second.add_data(Buffer.from('Subject: two\r\n\r\nsmall\r\n'))
  const raw2 = await messageOf(second)
  assert.equal(pooledBuffers(), pooled)
  assert.equal(raw2.toString(), 'Subject: two\r\n\r\nsmall\r\n')
  // The same memory as the first message's: no new allocation.
  assert.equal(raw2.buffer, raw.buffer)
  releaseMessage(second)
  releaseMessage(second)
  assert.equal(pooledBuffers(), pooled + 1)
})
