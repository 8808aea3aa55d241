// The message kept as it arrives: dot-unstuffed, in fixed chunks used
// again from message to message, put together at the end; dropped past the
// cap (the message is then read back from Haraka's stream).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  appendLine, assemble, CHUNK_BYTES, keptBytes, MemoryBudgetExceeded, messageOf, newCapture, pooledBuffers, releaseCapture, releaseMessage,
  ownedCaptures, releaseOwner, spareChunks, startCapture,
} from '../../../plugins/lib/haraka/message-capture'
import { SizePool } from '../../../plugins/lib/content/size-pool'

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
  releaseMessage(txn)
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
  for (const t of [captured, other, third]) releaseMessage(t)
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
  releaseCapture(capture)
})

test('a line longer than a chunk is split over several', () => {
  const capture = newCapture(1 << 20)
  const line = Buffer.alloc(CHUNK_BYTES * 2 + 10)
  for (let i = 0; i < line.length; i++) line[i] = i % 251
  line[0] = 0x2e
  assert.equal(appendLine(capture, line), true)
  assert.deepEqual(assemble(capture), line.subarray(1))
  releaseCapture(capture)
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
  releaseCapture(first)
  releaseCapture(second)
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
  releaseCapture(capture)
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
  releaseMessage(txn)
})

test('a stuffed dot does not count against the cap', () => {
  const capture = newCapture(3)
  assert.equal(appendLine(capture, Buffer.from('..ab')), true)
  assert.equal(assemble(capture).toString(), '.ab')
  releaseCapture(capture)
})

test('without a capture the stream is read', async () => {
  const txn = fakeTxn()
  assert.equal((await messageOf(txn)).toString(), 'from the stream')
  releaseMessage(txn)
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

// Haraka's own Transaction, as the connection drives it during DATA.
interface HarakaTxn {
  add_data(line: Buffer | string): void
  end_data(cb: () => void): void
  message_stream: { get_data(cb: (b: Buffer) => void): void; destroy(): void }
  data_bytes: number
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createTransaction } = require('Haraka/transaction') as { createTransaction(uuid: string, cfg: object): HarakaTxn }

let txnCount = 0
function harakaTxn(): HarakaTxn {
  return createTransaction(`capture-test.${++txnCount}`, { main: {}, headers: {} })
}

/** A header line, the blank line, then body lines to `bytes` in all, counted as Haraka's connection does. */
function sendLines(txn: HarakaTxn, bytes: number, first = 0): void {
  for (let sent = first; sent < first + bytes; ) {
    const size = sent === 0 ? 998 : sent === 998 ? 2 : 1000
    const line = Buffer.alloc(size, 0x62)
    if (sent === 0) line.write('Subject: ')
    sent += size
    line[size - 2] = 0x0d
    line[size - 1] = 0x0a
    txn.data_bytes = (txn.data_bytes ?? 0) + line.length
    txn.add_data(line)
  }
}

const endData = (txn: HarakaTxn): Promise<void> => new Promise((resolve) => txn.end_data(resolve))
const streamOf = (txn: HarakaTxn): Promise<Buffer> => new Promise((resolve) => txn.message_stream.get_data(resolve))

test('the process budget: a message that would pass it is not kept, messageOf rejects with MemoryBudgetExceeded, Haraka still has it', async () => {
  const base = keptBytes()
  const budget = base + 150_000
  const a = harakaTxn()
  const b = harakaTxn()
  startCapture(a, 1 << 20, budget)
  startCapture(b, 1 << 20, budget)
  sendLines(a, 100_000)
  assert.equal(keptBytes(), base + 100_000)
  sendLines(b, 50_000)
  assert.equal(keptBytes(), base + 150_000)
  // One byte more than the budget: b stops keeping and gives its bytes back.
  b.add_data(Buffer.from('x'))
  assert.equal(keptBytes(), base + 100_000)
  sendLines(b, 10_000, 50_000)
  assert.equal(keptBytes(), base + 100_000)
  await endData(a)
  await endData(b)
  await assert.rejects(messageOf(b), (err: Error) => {
    assert.ok(err instanceof MemoryBudgetExceeded)
    assert.equal(err.name, 'MemoryBudgetExceeded')
    assert.equal(err.message, `the messages in scan would pass [scan] max_kept_bytes ${budget}: ${base + 100_000} bytes held by others, this one 50001`)
    return true
  })
  // Asked again, the same answer: the message is not read from the stream instead.
  await assert.rejects(messageOf(b), MemoryBudgetExceeded)
  assert.equal((await streamOf(b)).length, 60_001)
  assert.equal((await messageOf(a)).length, 100_000)
  assert.equal(keptBytes(), base + 100_000)
  releaseMessage(a)
  releaseMessage(b)
  assert.equal(keptBytes(), base)
  // With a's bytes back, the next message fits again.
  const c = harakaTxn()
  startCapture(c, 1 << 20, budget)
  sendLines(c, 120_000)
  await endData(c)
  assert.equal((await messageOf(c)).length, 120_000)
  releaseMessage(c)
  assert.equal(keptBytes(), base)
})

// Haraka ends every transaction by destroying its message stream (Connection
// reset_transaction_respond), whether it reached data_post or not.
test('a transaction that ends without data_post (RSET, a timeout, a disconnect mid-DATA) gives its bytes back', async () => {
  const base = keptBytes()
  const spare = spareChunks()
  const midData = harakaTxn()
  startCapture(midData, 1 << 20)
  sendLines(midData, 200_000)
  assert.equal(keptBytes(), base + 200_000)
  midData.message_stream.destroy()
  assert.equal(keptBytes(), base)
  // Its four chunks are back for the next message (taken from the spare ones first).
  assert.equal(spareChunks(), Math.max(spare, Math.ceil(200_000 / CHUNK_BYTES)))
  // Lines after the end are not kept.
  sendLines(midData, 5_000, 200_000)
  assert.equal(keptBytes(), base)

  // Handed to the checks, the message stays counted until they release it.
  const inScan = harakaTxn()
  startCapture(inScan, 1 << 20)
  sendLines(inScan, 30_000)
  await endData(inScan)
  const raw = await messageOf(inScan)
  inScan.message_stream.destroy()
  assert.equal(keptBytes(), base + 30_000)
  assert.equal(raw.length, 30_000)
  releaseMessage(inScan)
  assert.equal(keptBytes(), base)
})

test('a message read back from Haraka\'s stream counts against the budget, or is refused before it is read', async () => {
  const base = keptBytes()
  const large = harakaTxn()
  // Kept up to 10 KB only: past that, read back from the stream.
  startCapture(large, 10_000, base + 100_000)
  sendLines(large, 50_000)
  assert.equal(keptBytes(), base)
  await endData(large)
  const raw = await messageOf(large)
  assert.equal(raw.length, 50_000)
  assert.equal(keptBytes(), base + 50_000)
  releaseMessage(large)
  assert.equal(keptBytes(), base)

  const tooLarge = harakaTxn()
  startCapture(tooLarge, 10_000, base + 100_000)
  sendLines(tooLarge, 101_000)
  await endData(tooLarge)
  await assert.rejects(messageOf(tooLarge), (err: Error) => {
    assert.ok(err instanceof MemoryBudgetExceeded)
    assert.equal(err.message, `the messages in scan would pass [scan] max_kept_bytes ${base + 100_000}: ${base} bytes held by others, this one 101000`)
    return true
  })
  assert.equal(keptBytes(), base)
  tooLarge.message_stream.destroy()
  assert.equal(keptBytes(), base)
})

test('a transaction Haraka drops without destroying its stream gives its bytes back when its connection ends', async () => {
  const base = keptBytes()
  const connection = {}
  // A second reset overtook the first: the first transaction's stream is never destroyed.
  const dropped = harakaTxn()
  startCapture(dropped, 1 << 20, undefined, connection)
  sendLines(dropped, 40_000)
  // A message handed to the checks of the next transaction, read back from the stream.
  const next = harakaTxn()
  startCapture(next, 10_000, undefined, connection)
  sendLines(next, 30_000)
  await endData(next)
  const raw = await messageOf(next, connection)
  assert.equal(raw.length, 30_000)
  assert.equal(keptBytes(), base + 70_000)
  releaseOwner(connection)
  assert.equal(keptBytes(), base)
  // Released twice (the checks finishing after the disconnect): nothing is given back twice.
  releaseMessage(next)
  releaseOwner(connection)
  assert.equal(keptBytes(), base)
  // Lines after the end are not kept.
  sendLines(dropped, 5_000, 40_000)
  assert.equal(keptBytes(), base)
})

test('a long connection keeps no list of its finished messages', async () => {
  const base = keptBytes()
  const connection = {}
  for (let i = 0; i < 50; i++) {
    const txn = harakaTxn()
    startCapture(txn, 1 << 20, undefined, connection)
    sendLines(txn, 1_000)
    await endData(txn)
    await messageOf(txn, connection)
    releaseMessage(txn)
    txn.message_stream.destroy()
  }
  assert.equal(keptBytes(), base)
  // The next capture prunes the finished ones: the owner holds only what is live.
  const last = harakaTxn()
  startCapture(last, 1 << 20, undefined, connection)
  sendLines(last, 1_000)
  assert.equal(keptBytes(), base + 1_000)
  assert.equal(ownedCaptures(connection), 1)
  releaseOwner(connection)
  assert.equal(ownedCaptures(connection), 0)
  assert.equal(keptBytes(), base)
})

test('a read of the stream under way stops when the transaction ends, and gives its bytes back', async () => {
  const base = keptBytes()
  const txn = harakaTxn()
  startCapture(txn, 10_000)
  sendLines(txn, 20_000)
  // The final dot never came: the stream has no end to read to.
  const reading = messageOf(txn)
  assert.equal(keptBytes(), base + 20_000)
  txn.message_stream.destroy()
  await assert.rejects(reading, { message: 'transaction ended' })
  assert.equal(keptBytes(), base)
})

test('pools drop what was not used for idleMs, on a timer of their own that does not hold the process', () => {
  let now = 0
  const timers: Array<{ fn: () => void; at: number; unrefed: boolean }> = []
  const clock = {
    now: (): number => now,
    setTimer: (fn: () => void, ms: number) => {
      const t = { fn, at: now + ms, unrefed: false }
      timers.push(t)
      return { unref: (): void => { t.unrefed = true } }
    },
  }
  const fire = (): void => {
    const t = timers.shift()
    assert.ok(t)
    now = t.at
    t.fn()
  }
  let made = 0
  const pool = new SizePool<Buffer>((size) => (made++, Buffer.alloc(size)), (b) => b.length, 4, 1 << 20, 1024, 1000, clock)
  const a = pool.take(1000)
  const b = pool.take(3000)
  assert.equal(made, 2)
  pool.give(a)
  assert.equal(timers.length, 1)
  assert.deepEqual(timers.map((t) => [t.at, t.unrefed]), [[1000, true]])
  now = 600
  pool.give(b)
  assert.equal(timers.length, 1, 'one timer at a time')
  assert.equal(pool.size, 2)
  assert.equal(pool.bytes, 1024 + 4096)
  // At 1000 ms a has waited 1000 ms and goes; b, given at 600, stays, and the timer is set for it.
  fire()
  assert.equal(pool.size, 1)
  assert.equal(pool.bytes, 4096)
  assert.deepEqual(timers.map((t) => t.at), [1600])
  // Used again, b is fresh: it goes only 1000 ms after it was given back again.
  now = 1200
  assert.equal(pool.take(2000), b)
  pool.give(b)
  fire()
  assert.equal(now, 1600)
  assert.equal(pool.size, 1)
  assert.deepEqual(timers.map((t) => t.at), [2200])
  fire()
  assert.equal(pool.size, 0)
  assert.equal(timers.length, 0, 'no timer while nothing is kept')
  assert.equal(made, 2)
  // The one given back last is taken first, so the rest grow idle.
  const c = pool.take(1024)
  const d = pool.take(1024)
  pool.give(c)
  pool.give(d)
  assert.equal(pool.take(1000), d)
})
