// The message kept as it arrives: dot-unstuffed, in fixed chunks used
// again from message to message, put together at the end; dropped past the
// cap (the message is then read back from Haraka's stream).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CHUNK_BYTES, MemoryBudgetExceeded, MessageCapture } from '../../../plugins/lib/haraka/message-capture'
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
  const mc = new MessageCapture()
  const txn = fakeTxn()
  mc.startCapture(txn, 1 << 20)
  const sent = ['Subject: x\r\n', '\r\n', '..leading dot\r\n', '.\r\n', 'a.b\r\n', 'last']
  for (const l of sent) txn.add_data(Buffer.from(l))
  txn.add_data('string line\r\n')
  const raw = await mc.messageOf(txn)
  assert.equal(raw.toString(), 'Subject: x\r\n\r\n.leading dot\r\n\r\na.b\r\nlaststring line\r\n')
  assert.deepEqual(txn.lines.map(String), [...sent, 'string line\r\n'])
  mc.releaseMessage(txn)
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
  const mc = new MessageCapture()
  const captured = new ClassTxn()
  const other = new ClassTxn()
  mc.startCapture(captured, 1 << 20)
  assert.equal(Object.hasOwn(captured, 'add_data'), false)
  const wrappedOnce = ClassTxn.prototype.add_data
  const third = new ClassTxn()
  mc.startCapture(third, 1 << 20)
  assert.equal(ClassTxn.prototype.add_data, wrappedOnce)
  for (const t of [captured, other, third]) {
    t.add_data(Buffer.from('Subject: s\r\n'))
    t.add_data('\r\n')
    t.add_data(Buffer.from('..body\r\n'))
  }
  assert.equal((await mc.messageOf(captured)).toString(), 'Subject: s\r\n\r\n.body\r\n')
  assert.equal((await mc.messageOf(third)).toString(), 'Subject: s\r\n\r\n.body\r\n')
  // Not captured: read back from Haraka's stream; Haraka still got every line.
  assert.equal((await mc.messageOf(other)).toString(), 'from the stream')
  for (const t of [captured, other, third]) assert.deepEqual(t.lines.map(String), ['Subject: s\r\n', '\r\n', '..body\r\n'])
  for (const t of [captured, other, third]) mc.releaseMessage(t)
})

test('lines fill fixed chunks, across chunk ends, and come out as one buffer of the message size', () => {
  const mc = new MessageCapture()
  const capture = mc.newCapture(1 << 20)
  for (let i = 0; i < 300; i++) {
    // each its own buffer, as Haraka's lines are never written to once handed over
    const line = Buffer.alloc(1000, 0x61)
    line[998] = 0x0d
    line[999] = 0x0a
    line[0] = 0x30 + (i % 10)
    assert.equal(mc.appendLine(capture, line), true)
  }
  assert.equal(capture.bytes, 300_000)
  assert.equal(capture.chunks.length, Math.ceil(300_000 / CHUNK_BYTES))
  const message = mc.assemble(capture)
  assert.equal(message.length, 300_000)
  for (let i = 0; i < 300; i++) {
    assert.equal(message[i * 1000], 0x30 + (i % 10))
    assert.equal(message[i * 1000 + 1], 0x61)
    assert.equal(message[i * 1000 + 999], 0x0a)
  }
  assert.equal(mc.assemble(capture), message)
  mc.releaseCapture(capture)
})

test('a line longer than a chunk is split over several', () => {
  const mc = new MessageCapture()
  const capture = mc.newCapture(1 << 20)
  const line = Buffer.alloc(CHUNK_BYTES * 2 + 10)
  for (let i = 0; i < line.length; i++) line[i] = i % 251
  line[0] = 0x2e
  assert.equal(mc.appendLine(capture, line), true)
  assert.deepEqual(mc.assemble(capture), line.subarray(1))
  mc.releaseCapture(capture)
})

test('chunks are used again by the next message, which does not see the last one', () => {
  const mc = new MessageCapture()
  const first = mc.newCapture(1 << 20)
  mc.appendLine(first, Buffer.alloc(CHUNK_BYTES + 5, 0x78))
  mc.assemble(first)
  assert.equal(mc.spareChunks(), 2)
  const second = mc.newCapture(1 << 20)
  mc.appendLine(second, Buffer.from('short\r\n'))
  assert.equal(mc.assemble(second).toString(), 'short\r\n')
  assert.equal(mc.spareChunks(), 2)
  mc.releaseCapture(first)
  mc.releaseCapture(second)
})

test('lines read one after the other from one block are copied as one run, a stuffed dot ends a run', () => {
  const mc = new MessageCapture()
  const block = Buffer.from('A: 1\r\n\r\nline one\r\n..dot\r\nline two\r\n.\r\nend\r\n')
  const lines: Buffer[] = []
  for (let i = 0; i < block.length; ) {
    const lf = block.indexOf(0x0a, i) + 1
    lines.push(block.subarray(i, lf))
    i = lf
  }
  const capture = mc.newCapture(1 << 20)
  for (const line of lines) mc.appendLine(capture, line)
  // a line from elsewhere, then one from the same block again
  mc.appendLine(capture, Buffer.from('elsewhere\r\n'))
  mc.appendLine(capture, block.subarray(0, 6))
  assert.equal(mc.assemble(capture).toString(), 'A: 1\r\n\r\nline one\r\n.dot\r\nline two\r\n\r\nend\r\nelsewhere\r\nA: 1\r\n')
  assert.equal(capture.bytes, mc.assemble(capture).length)
  mc.releaseCapture(capture)
})

test('past the cap the copy is dropped and the stream is read', async () => {
  const mc = new MessageCapture()
  const capture = mc.newCapture(50_000)
  const line = Buffer.alloc(10_000, 0x63)
  for (let i = 0; i < 5; i++) assert.equal(mc.appendLine(capture, line), true)
  assert.equal(capture.bytes, 50_000)
  assert.equal(mc.appendLine(capture, Buffer.from('x')), false)
  assert.equal(capture.over, true)
  assert.equal(capture.chunks.length, 0)

  const txn = fakeTxn()
  mc.startCapture(txn, 10)
  txn.add_data(Buffer.from('0123456789abc\r\n'))
  txn.add_data(Buffer.from('more\r\n'))
  assert.equal((await mc.messageOf(txn)).toString(), 'from the stream')
  assert.equal(txn.lines.length, 2)
  mc.releaseMessage(txn)
})

test('a stuffed dot does not count against the cap', () => {
  const mc = new MessageCapture()
  const capture = mc.newCapture(3)
  assert.equal(mc.appendLine(capture, Buffer.from('..ab')), true)
  assert.equal(mc.assemble(capture).toString(), '.ab')
  mc.releaseCapture(capture)
})

test('without a capture the stream is read', async () => {
  const mc = new MessageCapture()
  const txn = fakeTxn()
  assert.equal((await mc.messageOf(txn)).toString(), 'from the stream')
  mc.releaseMessage(txn)
})

test('the message buffer goes back to a pool when the checks are done, and serves the next message', async () => {
  const mc = new MessageCapture()
  const first = fakeTxn()
  mc.startCapture(first, 1 << 20)
  first.add_data(Buffer.alloc(100_000, 0x61))
  const raw = await mc.messageOf(first)
  assert.equal(raw.length, 100_000)
  assert.equal(mc.pooledBuffers(), 0)
  mc.releaseMessage(first)
  assert.equal(mc.pooledBuffers(), 1)
  // Asked again after release, the message comes from Haraka's stream, not the reused buffer.
  assert.equal(String(await mc.messageOf(first)), 'from the stream')

  const second = fakeTxn()
  mc.startCapture(second, 1 << 20)
  second.add_data(Buffer.from('Subject: two\r\n\r\nsmall\r\n'))
  const raw2 = await mc.messageOf(second)
  assert.equal(mc.pooledBuffers(), 0)
  assert.equal(raw2.toString(), 'Subject: two\r\n\r\nsmall\r\n')
  // The same memory as the first message's: no new allocation.
  assert.equal(raw2.buffer, raw.buffer)
  mc.releaseMessage(second)
  mc.releaseMessage(second)
  assert.equal(mc.pooledBuffers(), 1)
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
  const mc = new MessageCapture()
  const budget = 150_000
  const a = harakaTxn()
  const b = harakaTxn()
  mc.startCapture(a, 1 << 20, budget)
  mc.startCapture(b, 1 << 20, budget)
  sendLines(a, 100_000)
  assert.equal(mc.keptBytes(), 100_000)
  sendLines(b, 50_000)
  assert.equal(mc.keptBytes(), 150_000)
  // One byte more than the budget: b stops keeping and gives its bytes back.
  b.add_data(Buffer.from('x'))
  assert.equal(mc.keptBytes(), 100_000)
  sendLines(b, 10_000, 50_000)
  assert.equal(mc.keptBytes(), 100_000)
  await endData(a)
  await endData(b)
  await assert.rejects(mc.messageOf(b), (err: Error) => {
    assert.ok(err instanceof MemoryBudgetExceeded)
    assert.equal(err.name, 'MemoryBudgetExceeded')
    assert.equal(err.message, `the messages in scan would pass [scan] max_kept_bytes ${budget}: 100000 bytes held by others, this one 50001`)
    return true
  })
  // Asked again, the same answer: the message is not read from the stream instead.
  await assert.rejects(mc.messageOf(b), MemoryBudgetExceeded)
  assert.equal((await streamOf(b)).length, 60_001)
  assert.equal((await mc.messageOf(a)).length, 100_000)
  assert.equal(mc.keptBytes(), 100_000)
  mc.releaseMessage(a)
  mc.releaseMessage(b)
  assert.equal(mc.keptBytes(), 0)
  // With a's bytes back, the next message fits again.
  const c = harakaTxn()
  mc.startCapture(c, 1 << 20, budget)
  sendLines(c, 120_000)
  await endData(c)
  assert.equal((await mc.messageOf(c)).length, 120_000)
  mc.releaseMessage(c)
  assert.equal(mc.keptBytes(), 0)
})

// Haraka ends every transaction by destroying its message stream (Connection
// reset_transaction_respond), whether it reached data_post or not.
test('a transaction that ends without data_post (RSET, a timeout, a disconnect mid-DATA) gives its bytes back', async () => {
  const mc = new MessageCapture()
  const midData = harakaTxn()
  mc.startCapture(midData, 1 << 20)
  sendLines(midData, 200_000)
  assert.equal(mc.keptBytes(), 200_000)
  midData.message_stream.destroy()
  assert.equal(mc.keptBytes(), 0)
  // Its four chunks are back for the next message.
  assert.equal(mc.spareChunks(), Math.ceil(200_000 / CHUNK_BYTES))
  // Lines after the end are not kept.
  sendLines(midData, 5_000, 200_000)
  assert.equal(mc.keptBytes(), 0)

  // Handed to the checks, the message stays counted until they release it.
  const inScan = harakaTxn()
  mc.startCapture(inScan, 1 << 20)
  sendLines(inScan, 30_000)
  await endData(inScan)
  const raw = await mc.messageOf(inScan)
  inScan.message_stream.destroy()
  assert.equal(mc.keptBytes(), 30_000)
  assert.equal(raw.length, 30_000)
  mc.releaseMessage(inScan)
  assert.equal(mc.keptBytes(), 0)
})

test('a message read back from Haraka\'s stream counts against the budget, or is refused before it is read', async () => {
  const mc = new MessageCapture()
  const large = harakaTxn()
  // Kept up to 10 KB only: past that, read back from the stream.
  mc.startCapture(large, 10_000, 100_000)
  sendLines(large, 50_000)
  assert.equal(mc.keptBytes(), 0)
  await endData(large)
  const raw = await mc.messageOf(large)
  assert.equal(raw.length, 50_000)
  assert.equal(mc.keptBytes(), 50_000)
  mc.releaseMessage(large)
  assert.equal(mc.keptBytes(), 0)

  const tooLarge = harakaTxn()
  mc.startCapture(tooLarge, 10_000, 100_000)
  sendLines(tooLarge, 101_000)
  await endData(tooLarge)
  await assert.rejects(mc.messageOf(tooLarge), (err: Error) => {
    assert.ok(err instanceof MemoryBudgetExceeded)
    assert.equal(err.message, `the messages in scan would pass [scan] max_kept_bytes 100000: 0 bytes held by others, this one 101000`)
    return true
  })
  assert.equal(mc.keptBytes(), 0)
  tooLarge.message_stream.destroy()
  assert.equal(mc.keptBytes(), 0)
})

test('a transaction Haraka drops without destroying its stream gives its bytes back when its connection ends', async () => {
  const mc = new MessageCapture()
  const connection = {}
  // A second reset overtook the first: the first transaction's stream is never destroyed.
  const dropped = harakaTxn()
  mc.startCapture(dropped, 1 << 20, undefined, connection)
  sendLines(dropped, 40_000)
  // A message handed to the checks of the next transaction, read back from the stream.
  const next = harakaTxn()
  mc.startCapture(next, 10_000, undefined, connection)
  sendLines(next, 30_000)
  await endData(next)
  const raw = await mc.messageOf(next, connection)
  assert.equal(raw.length, 30_000)
  assert.equal(mc.keptBytes(), 70_000)
  mc.releaseOwner(connection)
  assert.equal(mc.keptBytes(), 0)
  // Released twice (the checks finishing after the disconnect): nothing is given back twice.
  mc.releaseMessage(next)
  mc.releaseOwner(connection)
  assert.equal(mc.keptBytes(), 0)
  // Lines after the end are not kept.
  sendLines(dropped, 5_000, 40_000)
  assert.equal(mc.keptBytes(), 0)
})

test('a long connection keeps no list of its finished messages', async () => {
  const mc = new MessageCapture()
  const connection = {}
  for (let i = 0; i < 50; i++) {
    const txn = harakaTxn()
    mc.startCapture(txn, 1 << 20, undefined, connection)
    sendLines(txn, 1_000)
    await endData(txn)
    await mc.messageOf(txn, connection)
    mc.releaseMessage(txn)
    txn.message_stream.destroy()
  }
  assert.equal(mc.keptBytes(), 0)
  // The next capture prunes the finished ones: the owner holds only what is live.
  const last = harakaTxn()
  mc.startCapture(last, 1 << 20, undefined, connection)
  sendLines(last, 1_000)
  assert.equal(mc.keptBytes(), 1_000)
  assert.equal(mc.ownedCaptures(connection), 1)
  mc.releaseOwner(connection)
  assert.equal(mc.ownedCaptures(connection), 0)
  assert.equal(mc.keptBytes(), 0)
})

test('a read of the stream under way stops when the transaction ends, and gives its bytes back', async () => {
  const mc = new MessageCapture()
  const txn = harakaTxn()
  mc.startCapture(txn, 10_000)
  sendLines(txn, 20_000)
  // The final dot never came: the stream has no end to read to.
  const reading = mc.messageOf(txn)
  assert.equal(mc.keptBytes(), 20_000)
  txn.message_stream.destroy()
  await assert.rejects(reading, { message: 'transaction ended' })
  assert.equal(mc.keptBytes(), 0)
})

test('two MessageCapture instances keep separate counts, budgets, pools and connections, through the one add_data wrapper', async () => {
  const one = new MessageCapture()
  const two = new MessageCapture()
  const connection = {}
  const a = harakaTxn()
  const b = harakaTxn()
  one.startCapture(a, 1 << 20, 100_000, connection)
  two.startCapture(b, 1 << 20, 60_000, connection)
  sendLines(a, 90_000)
  sendLines(b, 50_000)
  // Each counts its own message: together they are past both budgets, alone within each.
  assert.equal(one.keptBytes(), 90_000)
  assert.equal(two.keptBytes(), 50_000)
  assert.equal(one.ownedCaptures(connection), 1)
  assert.equal(two.ownedCaptures(connection), 1)
  await endData(a)
  await endData(b)
  assert.equal((await one.messageOf(a)).length, 90_000)
  assert.equal((await two.messageOf(b)).length, 50_000)
  // A message past two's budget is refused by two, whatever one holds.
  const c = harakaTxn()
  two.startCapture(c, 1 << 20, 60_000)
  sendLines(c, 20_000)
  await endData(c)
  await assert.rejects(two.messageOf(c), {
    name: 'MemoryBudgetExceeded',
    message: 'the messages in scan would pass [scan] max_kept_bytes 60000: 50000 bytes held by others, this one 11000',
  })
  assert.equal(one.keptBytes(), 90_000)
  assert.equal(two.keptBytes(), 50_000)
  // Buffers go back to the pools of the instance that lent them.
  one.releaseMessage(a)
  assert.deepEqual([one.keptBytes(), one.pooledBuffers(), one.spareChunks()], [0, 1, 2])
  assert.deepEqual([two.keptBytes(), two.pooledBuffers()], [50_000, 0])
  // The connection's end, told to one, leaves two's capture counted.
  one.releaseOwner(connection)
  assert.equal(two.keptBytes(), 50_000)
  assert.equal(two.ownedCaptures(connection), 1)
  two.releaseMessage(b)
  assert.deepEqual([two.keptBytes(), two.pooledBuffers(), two.spareChunks()], [0, 1, 1])
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
