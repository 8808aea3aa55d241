// The pieces of `support-codes explain` that need no server: counters given
// on the command line, the read-only store, the node's config folder, and a
// whole run whose checks need no network.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { counterFor, parseCounter, readOnly } from '../../../plugins/lib/explain/counters'
import { explain } from '../../../plugins/lib/explain/explain'
import { loadNodeConfig } from '../../../plugins/lib/explain/node-config'
import { explanationText } from '../../../plugins/lib/explain/report'
import { keys } from '../../../plugins/lib/phases/rcpt'
import { MemoryStore } from '../../../plugins/lib/store/memory'

test('--counter NAME=N: known names, mailbox:ADDRESS, and everything else refused', () => {
  const c: Record<string, number> = {}
  parseCounter('sender=12', c)
  parseCounter('mailbox:Bob@Example.com=3', c)
  parseCounter('mailbox=1', c)
  parseCounter('ip_age=86400', c)
  assert.deepEqual(c, { sender: 12, 'mailbox:bob@example.com': 3, mailbox: 1, ip_age: 86400 })
  for (const bad of ['sender', 'sender=-1', 'nope=2', 'sender:x=2', '=3']) {
    assert.throws(() => parseCounter(bad, {}), /expected NAME=N/, bad)
  }
  const ip = '198.51.100.7'
  assert.equal(counterFor('sc:rate:sender:a@b.example', ip, c), 12)
  assert.equal(counterFor(keys.mailbox('bob@example.com'), ip, c), 3)
  assert.equal(counterFor(keys.mailbox('carol@example.com'), ip, c), 1)
  assert.equal(counterFor(keys.ipAccepted(ip), ip, { ip_accepted: 4 }), 4)
  assert.equal(counterFor(keys.ipRcptRefused(ip), ip, { ip_rcpt_refused: 9 }), 9)
  assert.equal(counterFor(keys.ipRcptOk(ip), ip, {}), undefined)
})

test('the read-only store answers reads and keeps nothing', async () => {
  const mem = new MemoryStore()
  await mem.incr('k', 2, 60)
  await mem.put('cached', 'v', 60)
  const ro = readOnly(mem)
  assert.deepEqual(await ro.get(['k']), [2])
  await ro.incr('k', 5, 60)
  await ro.join('g', 'm')
  await ro.put('cached', 'other', 60)
  assert.equal(await ro.setIfAbsent('new', 'x', 60), 'x')
  assert.deepEqual(await mem.get(['k', 'g']), [2, 0])
  assert.equal(await mem.fetch('cached'), 'v')
  assert.equal(await mem.fetch('new'), undefined)
  await mem.close()
})

test('a node config folder: its settings over the defaults, its plugins, its relay ACL', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sc-explain-cfg-'))
  try {
    fs.writeFileSync(path.join(dir, 'plugins'), '# the node\nrelay\nsupport-codes/mailfrom\nsupport-codes/data\nqueue/smtp_forward\n')
    fs.writeFileSync(path.join(dir, 'relay.ini'), '[relay]\nacl=true\n')
    fs.writeFileSync(path.join(dir, 'relay_acl_allow'), '10.0.0.0/8\n')
    fs.writeFileSync(path.join(dir, 'support-codes-mailfrom.ini'), '[sender_rate]\nlimit=7\n\n[bogus]\nx=1\n')
    fs.writeFileSync(path.join(dir, 'me'), 'mx.node.example\n')
    const cfg = loadNodeConfig(dir)
    cfg.close()
    assert.deepEqual([...cfg.enabled], ['mailfrom', 'data'])
    assert.equal(cfg.relayAcl?.has('10.1.2.3'), true)
    assert.equal(cfg.relayAcl?.has('192.0.2.1'), false)
    assert.equal(cfg.mailfrom.own.sender_rate.limit, 7)
    // A default the node's file does not name is kept.
    assert.equal(cfg.mailfrom.own.null_sender.reject, true)
    assert.equal(cfg.data.hostname(), 'mx.node.example')
    assert.ok(cfg.problems.some((p) => /\[bogus\] is not a known section/.test(p)), cfg.problems.join('\n'))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('a run with no network: the null sender refused at MAIL FROM, a sender over its rate, monitor mode', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sc-explain-run-'))
  try {
    fs.writeFileSync(path.join(dir, 'plugins'), 'support-codes/mailfrom\n')
    fs.writeFileSync(path.join(dir, 'support-codes-mailfrom.ini'), '[sender_rate]\nlimit=3\n')
    const base = { message: Buffer.from('Subject: x\r\n\r\nx\r\n'), ip: '198.51.100.7', helo: 'c.example', to: ['bob@example.com'], configDir: dir }
    let e = await explain({ ...base, from: '' })
    assert.deepEqual(e.outcome, { refused: '550 5.0.0 Sender is not allowed to send with empty mail_from', stage: 'MAIL FROM' })
    assert.match(explanationText(e), /^ {2}null_sender +REFUSE +MAIL FROM:<>$/m)

    e = await explain({ ...base, from: 'a@sender.example', counters: { sender: 3 } })
    assert.deepEqual(e.outcome, { refused: '550 5.0.0 Received too many messages from a sender mailbox', stage: 'MAIL FROM' })
    e = await explain({ ...base, from: 'a@sender.example', counters: { sender: 2 } })
    assert.deepEqual(e.outcome, { accepted: ['bob@example.com'] })

    fs.writeFileSync(path.join(dir, 'support-codes.ini'), '[main]\nmonitor=true\n')
    e = await explain({ ...base, from: '' })
    assert.deepEqual(e.outcome, { accepted: ['bob@example.com'] })
    assert.match(explanationText(e), /would send \(monitor mode, accepted\): 550 5\.0\.0 Sender is not allowed to send with empty mail_from/)

    e = await explain({ ...base, from: '', relaying: true })
    assert.equal(e.skip, 'relaying')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
