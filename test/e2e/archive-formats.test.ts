// End to end: every message of test/rig/archive-cases.ts (archives of every
// format built by the real tools, RAR from public test suites, attached under
// an innocent name and type) through a Haraka node with the data plugin and
// the package's defaults. An archive holding a banned file, or one that
// cannot be shown safe, gets the exact G1A line after the final dot; one
// holding only a PDF, or 1 GiB of zeros under an innocent name, gets 250.
// Two sessions at a time: some messages are 15-30 MB.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Haraka } from '../rig/haraka'
import { TestDns } from '../rig/dns-server'
import { sendMail } from '../rig/smtp-client'
import { archiveCasesOrMissing } from '../rig/archive-cases'

const G1A = '550 5.7.0 mime_banned_file - Your message has been rejected because it contains a banned file attachment (G1A)'
const CLIENT = '198.18.4.2'

const { cases, missing } = archiveCasesOrMissing()

let dns: TestDns
let h: Haraka

/** The first line of the reply to the message's final dot. */
async function dataLine(message: Buffer): Promise<string> {
  const res = await sendMail({ port: h.port, proxyFrom: CLIENT, helo: 'client.test', from: 'alice@sender.example', to: ['bob@example.com'], message })
  assert.equal(res.mail.code, 250)
  assert.equal(res.rcpts[0]?.code, 250)
  return res.data?.lines[0] ?? '(no DATA reply)'
}

before(async () => {
  dns = await TestDns.start({ records: { '*.18.198.in-addr.arpa': [{ type: 'PTR', data: 'client.test' }] } })
  h = await Haraka.start({ dns: dns.address, plugins: ['support-codes/data'] })
})
after(async () => {
  await h?.stop()
  await dns?.stop()
})

describe('archives of every format through a node', { concurrency: 2 }, () => {
  test('7-Zip, genisoimage, xorriso, tar, gzip and gcab are installed (test/setup.sh installs them)', () => {
    if (missing) throw missing
  })
  for (const c of cases) {
    test(`${c.name} → ${c.refused ? 'G1A' : '250'}`, async () => {
      const line = await dataLine(c.message)
      if (c.refused) assert.equal(line, G1A)
      else assert.match(line, /^250 /)
    })
  }
})
