// `support-codes explain` and `support-codes codes`, run as an operator runs
// them: the command installed with the package, against a live node's config
// folder and the same DNS. (Every e2e test also replays each reply its
// clients get through explain in-process: test/rig/replay.ts.)
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { CATALOG } from '../../plugins/lib/codes/catalog'
import { Haraka, templateNode } from '../rig/haraka'
import { TestDns, reverseName } from '../rig/dns-server'
import { mimeMessage } from '../rig/mime-build'
import { replayStats, wireMessage } from '../rig/replay'
import { sendMail } from '../rig/smtp-client'

const LISTED = '198.18.77.2'
const CLEAN = '198.18.0.7'
const ZONE = 'bl.test.example'

let dns: TestDns
let h: Haraka
let tmp: string

/** The command as npm installed it into the node. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = path.join(templateNode(), 'node_modules', '.bin', 'support-codes')
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 30000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

function messageFile(name: string, text: string): string {
  const file = path.join(tmp, name)
  fs.writeFileSync(file, wireMessage(text))
  return file
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sc-explain-'))
  dns = await TestDns.start({
    records: {
      '*.18.198.in-addr.arpa': [{ type: 'PTR', data: 'client.sender.example' }],
      '*.19.198.in-addr.arpa': [{ type: 'PTR', data: 'elsewhere.test.example' }],
      [`2.0.0.127.${ZONE}`]: [{ type: 'A', data: '127.0.0.2' }],
      [reverseName(LISTED, ZONE)]: [{ type: 'A', data: '127.0.0.2' }],
      'sender.example': [{ type: 'TXT', data: 'v=spf1 ip4:198.18.0.0/16 -all' }],
      '_dmarc.sender.example': [{ type: 'TXT', data: 'v=DMARC1; p=reject' }],
    },
  })
  h = await Haraka.start({
    dns: dns.address,
    config: {
      'support-codes-rcpt.ini': `[dnsbl]\nzones=test\n\n[test]\nzone=${ZONE}\ncode=G32\nlisted=127.0.0.2\n\n[recipients]\ndomains=example.com\n`,
      'support-codes.recipients': 'bob@example.com\n',
    },
  })
})
after(async () => {
  await h.stop()
  await dns.stop()
  fs.rmSync(tmp, { recursive: true, force: true })
})

describe('support-codes explain, as installed', () => {
  const explainArgs = (file: string, ip: string, to: string[]): string[] => [
    'explain', file, '--ip', ip, '--helo', 'client.sender.example', '--from', 'alice@sender.example',
    ...to.flatMap((r) => ['--to', r]), '--config', path.join(h.dir, 'config'), '--dns', dns.address,
  ]

  test('a recipient the directory does not know: the line the server sent', async () => {
    const text = mimeMessage({ to: 'nobody@example.com' })
    const live = await sendMail({ port: h.port, proxyFrom: CLEAN, helo: 'client.sender.example', from: 'alice@sender.example', to: ['nobody@example.com'], message: text })
    const want = '550 5.1.1 nobody@example.com: Email address could not be found, or was misspelled (G8, G9)'
    assert.equal(live.rcpts[0].text, want)
    const out = await cli(explainArgs(messageFile('unknown.eml', text), CLEAN, ['nobody@example.com']))
    assert.equal(out.code, 0, out.stderr)
    assert.match(out.stdout, /^RCPT TO:<nobody@example\.com>$/m)
    assert.match(out.stdout, /^ {2}recipients +REFUSE +nobody@example\.com is not in support-codes\.recipients$/m)
    assert.ok(out.stdout.endsWith(`result: refused at RCPT TO: ${want}\n`), out.stdout)
  })

  test('a listed client: the zone, its answer and the line', async () => {
    const text = mimeMessage()
    const live = await sendMail({ port: h.port, proxyFrom: LISTED, helo: 'client.sender.example', from: 'alice@sender.example', to: ['bob@example.com'], message: text })
    const out = await cli([...explainArgs(messageFile('listed.eml', text), LISTED, ['bob@example.com']), '--json'])
    assert.equal(out.code, 0, out.stderr)
    const e = JSON.parse(out.stdout) as { outcome: { refused?: string; stage?: string }; stages: Array<{ name: string; steps: Array<{ check: string; saw: string }> }> }
    assert.deepEqual(e.outcome, { refused: live.rcpts[0].text, stage: 'RCPT TO' })
    assert.match(live.rcpts[0].text, /^554 5\.7\.1 ACL dns_rbl; Client host \[198\.18\.77\.2\] blocked using bl\.test\.example=127\.0\.0\.2 /)
    const dnsbl = e.stages.find((s) => s.name === 'RCPT TO')?.steps.find((s) => s.check === 'dnsbl')
    assert.equal(dnsbl?.saw, `${ZONE}: listed (127.0.0.2)`)
  })

  test('accepted mail: every check passes and the result says so', async () => {
    const text = mimeMessage()
    const live = await sendMail({ port: h.port, proxyFrom: CLEAN, helo: 'client.sender.example', from: 'alice@sender.example', to: ['bob@example.com'], message: text })
    assert.equal(live.data?.code, 250)
    const out = await cli(explainArgs(messageFile('ok.eml', text), CLEAN, ['bob@example.com']))
    assert.equal(out.code, 0, out.stderr)
    for (const stage of ['connect', 'MAIL FROM', 'RCPT TO:<bob@example.com>', 'DATA']) assert.match(out.stdout, new RegExp(`^${stage.replace(/[.<>@]/g, '\\$&')}$`, 'm'))
    for (const check of ['ptr', 'null_sender', 'dnsbl', 'recipients', 'loop', 'attachments', 'spf', 'dmarc']) {
      assert.match(out.stdout, new RegExp(`^ {2}${check} +pass `, 'm'), `${check} in\n${out.stdout}`)
    }
    assert.ok(out.stdout.endsWith('result: accepted for bob@example.com\n'), out.stdout)
  })

  test('a dangerous attachment at DATA, and a DMARC reject, each with the server\'s line', async () => {
    const bad = mimeMessage({ attachments: [{ name: 'invoice.pdf.exe', data: 'MZ' }] })
    let live = await sendMail({ port: h.port, proxyFrom: CLEAN, helo: 'client.sender.example', from: 'alice@sender.example', to: ['bob@example.com'], message: bad })
    let out = await cli(explainArgs(messageFile('exe.eml', bad), CLEAN, ['bob@example.com']))
    assert.ok(live.data)
    assert.ok(out.stdout.endsWith(`result: refused at DATA: ${live.data.text}\n`), out.stdout)
    assert.match(out.stdout, /attachments +REFUSE +file names: "invoice\.pdf\.exe"/)

    // SPF fails (the client is outside the record) and the From domain says p=reject.
    const spoof = mimeMessage()
    live = await sendMail({ port: h.port, proxyFrom: '198.19.0.9', helo: 'client.sender.example', from: 'alice@sender.example', to: ['bob@example.com'], message: spoof })
    out = await cli(explainArgs(messageFile('spoof.eml', spoof), '198.19.0.9', ['bob@example.com']))
    assert.ok(live.data)
    assert.equal(live.data.text, '550 5.1.0 Sender is not allowed to send from sender.example')
    assert.ok(out.stdout.endsWith(`result: refused at DATA: ${live.data.text}\n`), out.stdout)
  })

  test('counters the server keeps can be given', async () => {
    const file = messageFile('rate.eml', mimeMessage())
    const cfg = path.join(tmp, 'rate-config')
    fs.mkdirSync(cfg)
    fs.writeFileSync(path.join(cfg, 'support-codes-mailfrom.ini'), '[sender_rate]\nlimit=5\n')
    const args = ['explain', file, '--ip', CLEAN, '--helo', 'c.test', '--from', 'alice@sender.example', '--to', 'bob@example.com', '--config', cfg, '--dns', dns.address]
    let out = await cli([...args, '--counter', 'sender=4'])
    assert.match(out.stdout, /sender_rate +pass +4 message\(s\) accepted from alice@sender\.example/)
    out = await cli([...args, '--counter', 'sender=5'])
    assert.ok(out.stdout.endsWith('result: refused at MAIL FROM: 550 5.0.0 Received too many messages from a sender mailbox\n'), out.stdout)
    out = await cli([...args, '--counter', 'bogus=1'])
    assert.equal(out.code, 2)
    assert.match(out.stderr, /--counter bogus=1: expected NAME=N/)
  })

  test('missing arguments are named, with the usage', async () => {
    const out = await cli(['explain', 'x.eml', '--helo', 'h', '--from', 'a@b', '--to', 'c@d'])
    assert.equal(out.code, 2)
    assert.match(out.stderr, /^support-codes: explain needs --ip\n/)
    assert.match(out.stderr, /usage:/)
  })
})

test('support-codes codes prints every catalog line with its setting', async () => {
  const out = await cli(['codes'])
  assert.equal(out.code, 0, out.stderr)
  const lines = out.stdout.trimEnd().split('\n')
  assert.equal(lines.length, CATALOG.length + 1)
  for (const e of CATALOG) {
    const reply = `${e.smtp} ${e.enhanced && !e.template.startsWith(e.enhanced) ? `${e.enhanced} ` : ''}${e.template}`
    assert.ok(lines.some((l) => l.startsWith(`${e.id} `) && l.endsWith(reply) && /support-codes[a-z-]*\.ini \[/.test(l)), `${e.id}: ${reply}`)
  }
})

test('the replies of this file\'s clients were replayed through explain', () => {
  assert.ok(replayStats.compared >= 10, `${replayStats.compared} compared`)
  assert.ok(replayStats.bundleLines >= 4, `${replayStats.bundleLines} bundle lines`)
})
