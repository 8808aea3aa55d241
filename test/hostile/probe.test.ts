// The probe itself (rig/probe.ts), against a small SMTP greeter in a child
// process whose event loop the test holds on purpose: the probe must see a
// held loop as a slow greeting, and a free one as a fast greeting.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { startProbe } from '../rig/probe'

// Greets every connection at once, ignores what it is sent, closes on QUIT;
// "hold N" on stdin busies its event loop for N ms.
const GREETER = `
const net = require('node:net')
const srv = net.createServer((s) => {
  s.on('error', () => {})
  s.write('220 greeter.test ESMTP\\r\\n')
  s.on('data', (d) => { if (d.toString().includes('QUIT')) s.end('221 bye\\r\\n') })
})
srv.listen(0, '127.0.0.1', () => process.stdout.write(String(srv.address().port) + '\\n'))
process.stdin.on('data', (d) => {
  const m = /hold (\\d+)/.exec(d.toString())
  if (!m) return
  const until = Date.now() + Number(m[1])
  while (Date.now() < until) {}
  process.stdout.write('held\\n')
})
`

const HOLD_MS = 600
let greeter: ChildProcess
let port: number

before(async () => {
  greeter = spawn(process.execPath, ['-e', GREETER], { stdio: ['pipe', 'pipe', 'inherit'] })
  const [first] = (await once(greeter.stdout!, 'data')) as [Buffer]
  port = Number(first.toString().trim())
})
after(() => {
  greeter.kill()
})

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

test('a free event loop: every greeting fast, about one connection per 50 ms', async () => {
  const probe = await startProbe({ port })
  // A window of 500 ms to probe in.
  await sleep(500)
  const r = await probe.stop()
  assert.deepEqual(r.failures, [])
  // Never more than one per 50 ms; on a loaded machine the interval can
  // slip, so fewer only need to show that the probe kept connecting.
  assert.ok(r.count >= 3 && r.count <= 12, `${r.count} connections in 500 ms`)
  // What matters is that a free loop reads clearly below a held one (the
  // next test's lower bound); a loaded machine's slow greetings stay there.
  assert.ok(r.worstMs < HOLD_MS / 2, `worst ${r.worstMs} ms`)
})

test(`an event loop held for ${HOLD_MS} ms: the worst greeting shows it`, async () => {
  // The probe runs once startProbe resolves; the hold begins then, and the
  // greeter says when it ends.
  const probe = await startProbe({ port })
  const held = once(greeter.stdout!, 'data')
  greeter.stdin!.write(`hold ${HOLD_MS}\n`)
  await held
  const r = await probe.stop()
  assert.deepEqual(r.failures, [])
  // A connection made early in the hold waits for nearly all of it (less one
  // interval); half the hold allows a loaded machine's probe to connect late.
  assert.ok(r.worstMs >= HOLD_MS / 2, `worst ${r.worstMs} ms`)
  assert.ok(r.worstMs < HOLD_MS + 1000, `worst ${r.worstMs} ms`)
})
