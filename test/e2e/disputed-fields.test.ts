// End to end: parts that repeat their MIME fields, read the way some client
// reads them. Two Content-Transfer-Encoding fields (7bit then base64) over a
// zip holding a program, and a harmless name in the first
// Content-Disposition with the program's name in the second, are refused
// with the exact reply; their harmless twins go through.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Haraka } from '../rig/haraka'
import { TestDns } from '../rig/dns-server'
import { sendMail } from '../rig/smtp-client'
import { mimeMessage } from '../rig/mime-build'
import { PROGRAM, zipOf } from '../rig/zip-corpus'

const G1A = '550 5.7.0 mime_banned_file - Your message has been rejected because it contains a banned file attachment (G1A)'
const G1B = '550 5.7.0 mime_banned_file - Your message has been rejected because it contains a banned file attachment (G1B)'
const CLIENT = '198.18.4.1'

let dns: TestDns
let h: Haraka

async function dataLine(message: string): Promise<string> {
  const res = await sendMail({ port: h.port, proxyFrom: CLIENT, helo: 'client.test', from: 'alice@sender.example', to: ['bob@example.com'], message })
  assert.equal(res.rcpts[0]?.code, 250)
  return res.data?.text.split('\n')[0] ?? '(no DATA reply)'
}

function base64Lines(data: Buffer): string {
  return (data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')
}

/** A zip sent base64 under two Content-Transfer-Encoding fields, 7bit first (the reading most clients take). */
function twoEncodings(zip: Buffer): string {
  return 'Content-Type: application/zip; name=files.zip\r\nContent-Disposition: attachment; filename=files.zip\r\n' +
    `Content-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64Lines(zip)}\r\n`
}

/** A PDF whose second Content-Disposition gives another name. */
function twoDispositions(first: string, second: string): string {
  return `Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=${first}\r\nContent-Disposition: attachment; filename=${second}\r\n` +
    `Content-Transfer-Encoding: base64\r\n\r\n${base64Lines(Buffer.from('%PDF-1.4 fake'))}\r\n`
}

before(async () => {
  dns = await TestDns.start({ records: { '*.18.198.in-addr.arpa': [{ type: 'PTR', data: 'client.test' }] } })
  h = await Haraka.start({ dns: dns.address, plugins: ['support-codes/data'] })
})
after(async () => {
  await h.stop()
  await dns.stop()
})

describe('repeated MIME fields', () => {
  test('7bit then base64 over a zip holding invoice.exe: G1A', async () => {
    assert.equal(await dataLine(mimeMessage({ parts: [twoEncodings(zipOf({ 'invoice.exe': PROGRAM }))] })), G1A)
  })

  test('7bit then base64 over a zip of a PDF: accepted', async () => {
    assert.match(await dataLine(mimeMessage({ parts: [twoEncodings(zipOf({ 'report.pdf': '%PDF-1.4 fake' }))] })), /^250 /)
  })

  test('report.pdf in the first Content-Disposition, invoice.exe in the second: G1B', async () => {
    assert.equal(await dataLine(mimeMessage({ parts: [twoDispositions('report.pdf', 'invoice.exe')] })), G1B)
  })

  test('two harmless Content-Disposition names: accepted', async () => {
    assert.match(await dataLine(mimeMessage({ parts: [twoDispositions('report.pdf', 'summary.pdf')] })), /^250 /)
  })
})
