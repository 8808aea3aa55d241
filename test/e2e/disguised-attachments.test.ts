// End to end: every message of the disguise generator (test/rig/disguise-gen.ts)
// through a Haraka node with the data plugin and the package's defaults. A
// hostile message gets the exact refusal after the final dot (G1A for the
// program in the zip, G1B where the banned name itself is hidden); a benign
// twin or ordinary message gets the queue's 250. Four sessions at a time.
//
// Messages are sent byte for byte: the client's data() turns a bare CR into
// CRLF, which would undo the tricks that put one by a delimiter or a header
// field, so those go as raw bytes after DATA's 354 (and are not replayed
// through explain, which reads the message as data() sends it).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Haraka } from '../rig/haraka'
import { TestDns } from '../rig/dns-server'
import { SmtpClient } from '../rig/smtp-client'
import { dataPayload } from '../rig/hostile-gen'
import { disguises } from '../rig/disguise-gen'

const LINE = {
  G1A: '550 5.7.0 mime_banned_file - Your message has been rejected because it contains a banned file attachment (G1A)',
  G1B: '550 5.7.0 mime_banned_file - Your message has been rejected because it contains a banned file attachment (G1B)',
}
const CLIENT = '198.18.4.2'
const BARE_CR = /\r(?!\n)/

let dns: TestDns
let h: Haraka

/** The first line of the reply to the message's final dot. */
async function dataLine(message: Buffer): Promise<string> {
  const client = await SmtpClient.connect({ port: h.port, proxyFrom: CLIENT })
  try {
    await client.ehlo('client.test')
    assert.equal((await client.send('MAIL FROM:<alice@sender.example>')).code, 250)
    assert.equal((await client.send('RCPT TO:<bob@example.com>')).code, 250)
    let end
    if (BARE_CR.test(message.toString('latin1'))) {
      assert.equal((await client.send('DATA')).code, 354)
      client.sendRaw(dataPayload(message))
      end = await client.readReply()
    } else {
      end = await client.data(message)
    }
    await client.quit()
    return end.lines[0] ?? '(no DATA reply)'
  } finally {
    client.close()
  }
}

before(async () => {
  dns = await TestDns.start({ records: { '*.18.198.in-addr.arpa': [{ type: 'PTR', data: 'client.test' }] } })
  h = await Haraka.start({ dns: dns.address, plugins: ['support-codes/data'] })
})
after(async () => {
  await h.stop()
  await dns.stop()
})

describe('disguised attachments through a node', { concurrency: 4 }, () => {
  for (const d of disguises()) {
    test(`${d.name}: ${d.how} → ${d.verdict ?? 'accepted'}`, async () => {
      const line = await dataLine(d.message)
      if (d.verdict) assert.equal(line, LINE[d.verdict])
      else assert.match(line, /^250 /)
    })
  }
})
