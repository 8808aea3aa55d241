// End to end: a callout's "user unknown" held until DATA ([recipients]
// at=data) is decided by the callout's own settings, as docs/rcpt.md says:
// [callout] monitor=true logs it and accepts the message, monitor=false
// refuses it after DATA. A real Haraka, a real DNS server and a real
// downstream SMTP server the callouts go to.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Haraka } from '../rig/haraka'
import { TestDns } from '../rig/dns-server'
import { Downstream } from '../rig/downstream'
import { message, sendMail } from '../rig/smtp-client'

const CLEAN = '198.18.3.1'
const SENDER = 'a@sender.example'
const g8 = (rcpt: string): string => `550 5.1.1 ${rcpt}: Email address could not be found, or was misspelled (G8, G9)`
const OK_RCPT = (rcpt: string): string => `250 recipient <${rcpt}> OK`

let dns: TestDns
let downstream: Downstream

before(async () => {
  dns = await TestDns.start({
    records: {
      'sender.example': [{ type: 'MX', data: { preference: 10, exchange: 'mx.sender.example' } }],
      'mx.sender.example': [{ type: 'A', data: '198.51.100.25' }],
    },
  })
  downstream = await Downstream.start({
    answers: {
      'ok@callout.example': '250 2.1.5 OK',
      'gone@callout.example': '550 5.1.1 No such user',
    },
  })
})
after(async () => {
  await dns.stop()
  await downstream.stop()
})

/** The rcpt plugin with recipients held until DATA and callouts to the downstream server. */
function node(callout: string, recipients = ''): Promise<Haraka> {
  return Haraka.start({
    dns: dns.address,
    plugins: ['support-codes/rcpt'],
    config: {
      'support-codes-rcpt.ini': `[dnsbl]\nzones=\n\n[recipients]\nat=data\n${recipients}\n[callout]\nenabled=true\ntimeout=2\n`
        + `routes=callout.example=127.0.0.1:${downstream.port}\n${callout}`,
      'support-codes.recipients': 'bob@example.com\n',
    },
  })
}

function send(h: Haraka, to: string[]): ReturnType<typeof sendMail> {
  return sendMail({ port: h.port, proxyFrom: CLEAN, helo: 'client.test', from: SENDER, to, message: message({ from: SENDER, to: to.join(', ') }) })
}

describe('a callout\'s unknown user held until DATA', () => {
  test('[callout] monitor=true: logged as monitor, the message is accepted', async (t) => {
    const h = await node('monitor=true\n')
    t.after(() => h.stop())
    const res = await send(h, ['ok@callout.example', 'gone@callout.example'])
    assert.deepEqual(res.rcpts.map((r) => r.text), [OK_RCPT('ok@callout.example'), OK_RCPT('gone@callout.example')])
    assert.equal(res.data?.code, 250, res.data?.text)
    assert.equal(h.queued().length, 1)
    assert.ok(downstream.sessions.some((s) => s.rcpts.includes('gone@callout.example')), 'the downstream server was asked')
    await h.waitForLog(new RegExp(`monitor: callout would send "${esc(g8('gone@callout.example'))}" \\(unknown recipients: gone@callout\\.example\\); accepted \\[G8/G9 #1\\]`))
    await h.waitForLog(new RegExp(`monitor callout: ${esc(g8('gone@callout.example'))}`))
    assert.doesNotMatch(h.log, /sent "550 5\.1\.1/)
  })

  test('[callout] monitor=false: refused after DATA with G8/G9', async (t) => {
    const h = await node('monitor=false\n')
    t.after(() => h.stop())
    const res = await send(h, ['ok@callout.example', 'gone@callout.example'])
    assert.deepEqual(res.rcpts.map((r) => r.text), [OK_RCPT('ok@callout.example'), OK_RCPT('gone@callout.example')])
    assert.equal(res.data?.text, g8('gone@callout.example'))
    assert.equal(h.queued().length, 0)
    await h.waitForLog(new RegExp(`callout: sent "${esc(g8('gone@callout.example'))}" \\(unknown recipients: gone@callout\\.example\\) \\[G8/G9 #1\\]`))
  })

  test('each held verdict by its own check: the callout in monitor mode, the directory not', async (t) => {
    const h = await node('monitor=true\n', 'domains=example.com\nmonitor=false\n')
    t.after(() => h.stop())
    const res = await send(h, ['gone@callout.example', 'alice@example.com', 'bob@example.com'])
    assert.deepEqual(res.rcpts.map((r) => r.text), [OK_RCPT('gone@callout.example'), OK_RCPT('alice@example.com'), OK_RCPT('bob@example.com')])
    assert.equal(res.data?.text, g8('alice@example.com'))
    assert.equal(h.queued().length, 0)
    await h.waitForLog(new RegExp(`monitor: callout would send "${esc(g8('gone@callout.example'))}"`))
    await h.waitForLog(new RegExp(`recipients: sent "${esc(g8('alice@example.com'))}" \\(unknown recipients: alice@example\\.com\\)`))
  })
})

function esc(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
