// End to end: the ARC override through a real Haraka and a real DNS server
// that serves the test sealers' keys. A list (lists.example, trusted)
// forwards mail from sender.example (p=reject) from its own address and IP:
// DMARC fails; the trusted list's seal lifts G15, another sealer's does not.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { sealMessage } from 'mailauth'
import { Haraka } from '../rig/haraka'
import { TestDns } from '../rig/dns-server'
import { sendMail } from '../rig/smtp-client'
import { DkimKey, makeDkimKey } from '../rig/dkim'

const LIST_IP = '198.18.9.9'
const G15 = '550 5.7.1 Email rejected per DMARC policy for sender.example (G15)'

const listKey = makeDkimKey('arc', 'lists.example')
const otherKey = makeDkimKey('arc', 'other.example')
let dns: TestDns
let h: Haraka

function original(id: string): string {
  return `From: Alice <alice@sender.example>\r\nTo: list@lists.example\r\nSubject: [list] hello\r\nDate: Sat, 28 Nov 2026 12:00:00 +0000\r\nMessage-ID: <${id}@sender.example>\r\n\r\nHello, list.\r\n`
}

async function sealed(key: DkimKey, id: string): Promise<string> {
  const raw = original(id)
  const authResults = `${key.domain}; spf=pass smtp.mailfrom=sender.example; dmarc=pass header.from=sender.example`
  const set = await sealMessage(raw, { signingDomain: key.domain, selector: key.selector, privateKey: key.privateKey, authResults, cv: 'none' })
  assert.ok(set.length, 'mailauth made an ARC set')
  return set.toString() + raw
}

async function dataReply(message: string): Promise<string[]> {
  const res = await sendMail({ port: h.port, proxyFrom: LIST_IP, helo: 'out.lists.example', from: 'owner@lists.example', to: ['bob@example.com'], message })
  assert.equal(res.mail.code, 250, res.mail.text)
  return res.data?.lines ?? ['(no DATA reply)']
}

before(async () => {
  dns = await TestDns.start({
    records: {
      '*.18.198.in-addr.arpa': [{ type: 'PTR', data: 'out.lists.example' }],
      'sender.example': [{ type: 'TXT', data: 'v=spf1 ip4:198.51.100.0/24 -all' }],
      '_dmarc.sender.example': [{ type: 'TXT', data: 'v=DMARC1; p=reject' }],
      'lists.example': [{ type: 'TXT', data: 'v=spf1 ip4:198.18.9.0/24 -all' }],
      [listKey.txtName]: [{ type: 'TXT', data: listKey.txtValue }],
      [otherKey.txtName]: [{ type: 'TXT', data: otherKey.txtValue }],
    },
  })
  h = await Haraka.start({
    dns: dns.address,
    plugins: ['support-codes/data'],
    config: { 'support-codes.ini': '[dns]\ntimeout=1\n', 'support-codes-data.ini': '[dmarc]\ntrusted_arc_sealers=lists.example\n' },
  })
})
after(async () => {
  await h.stop()
  await dns.stop()
})

describe('ARC override', () => {
  test('sealed by the trusted list: accepted, arc_override in the log', async () => {
    const reply = await dataReply(await sealed(listKey, 'trusted'))
    assert.equal(reply.length, 1)
    assert.match(reply[0], /^250 /)
    await h.waitForLog(/\[support-codes\/data\].*arc_override: lists\.example for sender\.example/)
  })

  test('sealed by another sealer: the exact G15 line', async () => {
    assert.deepEqual(await dataReply(await sealed(otherKey, 'untrusted')), [G15])
  })

  test('not sealed: the exact G15 line', async () => {
    assert.deepEqual(await dataReply(original('plain')), [G15])
  })
})
