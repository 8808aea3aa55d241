// The message kept as it arrives: dot-unstuffed, in one buffer that doubles
// when full, dropped past the cap (the message is then read back from
// Haraka's stream).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { appendLine, INITIAL_CAPTURE_BYTES, messageOf, newCapture, startCapture } from '../../plugins/lib/message-capture'

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

test('the buffer doubles as it fills and keeps every byte', () => {
  const capture = newCapture()
  const line = Buffer.alloc(1000, 0x61)
  line[998] = 0x0d
  line[999] = 0x0a
  const sizes = new Set<number>()
  for (let i = 0; i < 300; i++) {
    line[0] = 0x30 + (i % 10)
    assert.equal(appendLine(capture, line, 1 << 20), true)
    sizes.add(capture.buf.length)
  }
  assert.equal(capture.bytes, 300_000)
  const sizeList = [...sizes]
  assert.equal(sizeList[0], INITIAL_CAPTURE_BYTES)
  for (let i = 1; i < sizeList.length; i++) assert.equal(sizeList[i], sizeList[i - 1] * 2)
  for (let i = 0; i < 300; i++) assert.equal(capture.buf[i * 1000], 0x30 + (i % 10))
})

test('a line longer than twice the buffer grows it at once', () => {
  const capture = newCapture()
  assert.equal(appendLine(capture, Buffer.alloc(100_000, 0x62), 1 << 20), true)
  assert.equal(capture.bytes, 100_000)
  assert.ok(capture.buf.length >= 100_000)
})

test('the buffer never grows past the cap; past it the copy is dropped and the stream is read', async () => {
  const capture = newCapture()
  const line = Buffer.alloc(10_000, 0x63)
  for (let i = 0; i < 5; i++) assert.equal(appendLine(capture, line, 50_000), true)
  assert.equal(capture.bytes, 50_000)
  assert.equal(capture.buf.length, 50_000)
  assert.equal(appendLine(capture, Buffer.from('x'), 50_000), false)
  assert.equal(capture.over, true)
  assert.equal(capture.buf.length, 0)

  const txn = fakeTxn()
  startCapture(txn, 10)
  txn.add_data(Buffer.from('0123456789abc\r\n'))
  txn.add_data(Buffer.from('more\r\n'))
  assert.equal((await messageOf(txn)).toString(), 'from the stream')
  assert.equal(txn.lines.length, 2)
})

test('a stuffed dot does not count against the cap', () => {
  const capture = newCapture()
  assert.equal(appendLine(capture, Buffer.from('..ab'), 3), true)
  assert.equal(capture.buf.subarray(0, capture.bytes).toString(), '.ab')
})

test('without a capture the stream is read', async () => {
  assert.equal((await messageOf(fakeTxn())).toString(), 'from the stream')
})
