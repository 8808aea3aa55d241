// End to end: the message bytes one Haraka process keeps for scanning are
// bounded ([scan] max_kept_bytes), and come back however a transaction ends.
// The budget is the live process's own state, which support-codes explain
// cannot see: these replies are not replayed.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Haraka } from '../rig/haraka'
import { TestDns } from '../rig/dns-server'
import { SmtpClient } from '../rig/smtp-client'
import { waitFor } from '../rig/wait'

const SCAN_TEMP = '451 4.3.0 Message could not be scanned, try again later'
const CLIENT = '198.18.6.1'
/** The smallest budget the setting takes: 1 MiB. */
const BUDGET = 1048576

let dns: TestDns
let h: Haraka

before(async () => {
  dns = await TestDns.start({ records: {} })
  h = await Haraka.start({
    dns: dns.address,
    plugins: ['support-codes/data'],
    replay: false,
    // Haraka drops a client silent for 1 s, in the middle of DATA too.
    smtp: ['inactivity_timeout=1'],
    config: { 'support-codes-data.ini': `[scan]\nmax_kept_bytes=${BUDGET}\n` },
  })
})
after(async () => {
  await h.stop()
  await dns.stop()
})

/** A plain message of about `bytes` bytes, in lines of 80 (no dot at a line start). */
function message(bytes: number, tag: string): string {
  const head = `From: <alice@sender.example>\r\nTo: <bob@example.com>\r\nSubject: ${tag}\r\nMessage-ID: <${tag}@sender.example>\r\n\r\n`
  const line = `${'x'.repeat(78)}\r\n`
  return head + line.repeat(Math.ceil((bytes - head.length) / line.length))
}

/** A session up to the 354 of DATA. */
async function inData(): Promise<SmtpClient> {
  const c = await SmtpClient.connect({ port: h.port, proxyFrom: CLIENT, timeoutMs: 10000 })
  await c.ehlo('client.test')
  assert.equal((await c.send('MAIL FROM:<alice@sender.example>')).code, 250)
  assert.equal((await c.send('RCPT TO:<bob@example.com>')).code, 250)
  assert.equal((await c.send('DATA')).code, 354)
  return c
}

/** The first line of the reply to a whole message. */
async function dataLine(bytes: number, tag: string): Promise<string> {
  const c = await inData()
  try {
    c.sendRaw(`${message(bytes, tag)}.\r\n`)
    return (await c.readReply()).text.split('\n')[0]
  } finally {
    await c.quit()
  }
}

// Time for bytes written to reach Haraka: nothing Haraka says marks it, and
// a slow arrival only makes the case weaker, never a false failure.
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Haraka's disconnect lines for sessions with a recipient and no message answered: those dropped in DATA. */
const dropped = (): number => [...h.log.matchAll(/\[core\] disconnect ip=.* rcpts=1\/0\/0 msgs=0\/0\/0 /g)].length

describe('[scan] max_kept_bytes', () => {
  test('a message larger than the budget is deferred with 451 4.3.0; one within it is accepted', async () => {
    assert.equal(await dataLine(1_200_000, 'large'), SCAN_TEMP)
    await h.waitForLog(/scan: sent "451 4\.3\.0 Message could not be scanned, try again later" \(memory limit: the messages in scan would pass \[scan\] max_kept_bytes 1048576: 0 bytes held by others, this one 10\d{5}\)/)
    assert.match(await dataLine(700_000, 'fits'), /^250 /)
  })

  test('two messages at once: the one that would take the process past the budget is deferred, the other accepted', async () => {
    const first = await inData()
    const body = message(600_000, 'first')
    first.sendRaw(body.slice(0, 590_000))
    // The first is 590 KB into its DATA when the second comes in whole.
    await pause(300)
    assert.equal(await dataLine(600_000, 'second'), SCAN_TEMP)
    first.sendRaw(`${body.slice(590_000)}.\r\n`)
    assert.match((await first.readReply()).text, /^250 /)
    await first.quit()
    // Both are done: the budget is free again.
    assert.match(await dataLine(700_000, 'after'), /^250 /)
  })

  test('transactions that end before their checks give their bytes back: client gone mid-DATA, reset, timeout', async () => {
    // Each leaves 700 KB behind if its bytes are not given back; the next
    // message of 700 KB would then not fit.
    for (const end of ['close', 'reset', 'timeout'] as const) {
      const c = await inData()
      const before = dropped()
      c.sendRaw(message(700_000, `dropped-${end}`))
      await pause(300)
      if (end === 'close') c.close()
      else if (end === 'reset') c.reset()
      else {
        await c.closed
        assert.match(c.raw, /421 timeout/)
      }
      // Haraka logs the disconnect after its disconnect hooks ran: the bytes are given back by then.
      await waitFor(`Haraka's disconnect line for the ${end} session`, () => dropped() > before).catch((err: Error) => {
        assert.fail(`${err.message}; disconnect lines:\n${h.log.split('\n').filter((l) => l.includes('[core] disconnect')).join('\n')}`)
      })
      assert.match(await dataLine(700_000, `after-${end}`), /^250 /, `after ${end}`)
    }
  })
})
