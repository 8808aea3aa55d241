// From a rendered reply to what a Haraka hook hands to next().
import { test } from 'node:test'
import assert from 'node:assert/strict'
import constants from 'haraka-constants'
import DSN from 'haraka-dsn'
import { entryFor } from '../../../plugins/lib/codes/catalog'
import { renderText } from '../../../plugins/lib/codes/render'
import { harakaReply } from '../../../plugins/lib/haraka/reply'

// What Haraka 3.3 writes for a reply: a DSN's code and reply win; otherwise
// 550 after DENY and 450 after DENYSOFT (mail, rcpt, data_post), 421 after
// DENYSOFTDISCONNECT at connect.
function wire(retval: number, msg: string | object, hook: string): string {
  if (msg instanceof DSN) return `${msg.code} ${msg.reply}`
  if (hook === 'connect') {
    assert.equal(retval, constants.denysoftdisconnect)
    return `421 ${msg as string}`
  }
  return `${retval === constants.deny ? 550 : 450} ${msg as string}`
}

test('plain strings for 550 and 450, DSN objects for 554 and 451, 421 at connect', () => {
  const cases: Array<[Parameters<typeof entryFor>[0], 'connect' | 'mail' | 'rcpt' | 'data_post', object, string]> = [
    ['G2', 'connect', {}, '421 Too many concurrent connections from this client (G2)'],
    ['G34', 'mail', {}, '550 5.0.0 Sender is not allowed to send with empty mail_from'],
    ['G1F', 'mail', { ip: '2001:db8::1' }, '450 4.7.1 Client host 2001:db8::1 has no PTR record (G1F)'],
    ['G28', 'rcpt', {}, '451 4.7.1 Received too many messages from a new or untrusted IP'],
    ['GE', 'rcpt', { email: 'a@b.example' }, '554 5.7.1 a@b.example: Sender address rejected: Blocked by this recipient'],
    ['G31', 'rcpt', { ip: '198.18.0.9', zone: 'bl.test', result: '127.0.0.2' },
      '554 5.7.1 ACL dns_rbl; Client host [198.18.0.9] blocked using bl.test=127.0.0.2 Senderscore. Please visit https://senderscore.org/rtbl/ for more information on why this message could not be delivered (G31)'],
    ['G16', 'data_post', {}, '450 4.4.6 Routing loop detected (G16)'],
    ['G3/G4/G5', 'data_post', {}, '550 5.7.1 Virus found (G3,G4,G5)'],
  ]
  for (const [id, hook, vars, line] of cases) {
    const entry = entryFor(id)
    const reply = harakaReply(entry, renderText(entry, vars), hook)
    assert.equal(typeof reply.msg === 'string', ![554, 451].includes(entry.smtp), id)
    assert.equal(wire(reply.retval, reply.msg, hook), line, id)
  }
})

test('tag_all text survives the DSN form', () => {
  const entry = entryFor('G28')
  const reply = harakaReply(entry, renderText(entry, {}, { tagAll: true }), 'rcpt')
  assert.equal(wire(reply.retval, reply.msg, 'rcpt'), '451 4.7.1 Received too many messages from a new or untrusted IP (G28)')
  assert.equal(reply.retval, constants.denysoft)
})

test('a code Haraka cannot send at connect is refused loudly', () => {
  const entry = entryFor('G1F')
  assert.throws(() => harakaReply(entry, renderText(entry, { ip: '1.2.3.4' }), 'connect'), /cannot be sent at connect/)
})
