// The catalog against the provider's table and DESIGN.md's wire lines.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { CATALOG, CodeId, PROVIDER_ROWS, entryFor } from '../../../plugins/lib/codes/catalog'
import { MAX_LINE, renderLine, renderVerdict, isUntagged } from '../../../plugins/lib/codes/render'
import { codesMarkdown } from '../../../plugins/lib/codes/doc'

const ROOT = path.resolve(__dirname, '..', '..', '..', '..')
const ip = '198.51.100.7'

// The 24 example lines of DESIGN.md, byte for byte, with the variables they use.
const EXAMPLES: Array<[CodeId, Parameters<typeof renderLine>[1], string]> = [
  ['G2', {}, '421 Too many concurrent connections from this client (G2)'],
  ['G1F', { ip }, '450 4.7.1 Client host 198.51.100.7 has no PTR record (G1F)'],
  ['G6', { email: 'bob@example.com' }, "450 4.4.1 bob@example.com: The recipient's server was temporarily unavailable to accept your message (G6)"],
  ['G30', {}, '450 4.2.1 Mailbox received too much email in a short period of time'],
  ['G28', {}, '451 4.7.1 Received too many messages from a new or untrusted IP'],
  ['G16', {}, '450 4.4.6 Routing loop detected (G16)'],
  ['G1E', { email: 'alice@sender.example' }, '450 4.4.0 alice@sender.example: Temporary DMARC DNS lookup failure (G1E)'],
  ['G29', {}, '550 5.0.0 Received too many messages from a sender mailbox'],
  ['G34', {}, '550 5.0.0 Sender is not allowed to send with empty mail_from'],
  ['G8/G9', { email: 'bob@example.com' }, '550 5.1.1 bob@example.com: Email address could not be found, or was misspelled (G8, G9)'],
  ['G7', { email: 'bob@example.com' }, "550 5.7.1 bob@example.com: The recipient's server refused to accept your message (G7)"],
  ['GE', { email: 'alice@sender.example' }, '554 5.7.1 alice@sender.example: Sender address rejected: Blocked by this recipient'],
  ['G14', { email: 'alice@sender.example' }, "550 5.7.1 alice@sender.example: Sender's MX record not allowed (G14)"],
  ['G31', { ip, zone: 'bl.score.senderscore.com', result: '127.0.0.2' }, '554 5.7.1 ACL dns_rbl; Client host [198.51.100.7] blocked using bl.score.senderscore.com=127.0.0.2 Senderscore. Please visit https://senderscore.org/rtbl/ for more information on why this message could not be delivered (G31)'],
  ['G32', { ip, zone: 'xbl.spamhaus.org', result: '127.0.0.4' }, '554 5.7.1 ACL dns_rbl; Client host [198.51.100.7] blocked using xbl.spamhaus.org=127.0.0.4 Spamhaus XBL. Please visit http://www.spamhaus.org/lookup/ for more information on why this message could not be delivered (G32)'],
  ['R2', { mailFromDomain: 'sender.example' }, '550 5.1.0 Sender is not allowed to send from sender.example'],
  ['G3/G4/G5', {}, '550 5.7.1 Virus found (G3,G4,G5)'],
  ['G15', { dmarcDomain: 'sender.example' }, '550 5.7.1 Email rejected per DMARC policy for sender.example (G15)'],
  ['G18', {}, '550 5.7.0 header_contenttype_1 (G18)'],
  ['G19', {}, '550 5.7.0 header_contenttype_2 - Multi-part MIME messages are rejected as dangerous (G19)'],
  ['G1A', {}, '550 5.7.0 mime_banned_file - Your message has been rejected because it contains a banned file attachment (G1A)'],
  ['G1B', {}, '550 5.7.0 mime_banned_file - Your message has been rejected because it contains a banned file attachment (G1B)'],
  ['G1C', {}, '550 5.7.0 mime_banned_file - File attachment is not allowed because they can be used to exploit Winzip (G1C)'],
  ['G1D', {}, '550 5.7.0 mime_banned_file - CLSID file extensions are dangerous (G1D)'],
]

test('DESIGN.md example lines render byte for byte', () => {
  assert.equal(EXAMPLES.length, 24)
  for (const [id, vars, line] of EXAMPLES) {
    assert.equal(renderLine(entryFor(id), vars), line, id)
  }
})

test('the table: 26 rows, 27 support codes, G8/G9 and G1A in two phases', () => {
  assert.equal(PROVIDER_ROWS.length, 26)
  const codes = new Set(PROVIDER_ROWS.flatMap((e) => e.codes))
  assert.equal(codes.size, 27)
  assert.deepEqual(CATALOG.filter((e) => e.id === 'G8/G9').map((e) => e.phase), ['rcpt', 'data'])
  assert.deepEqual(CATALOG.filter((e) => e.id === 'G1A').map((e) => e.phase), ['connect', 'data'])
  assert.equal(PROVIDER_ROWS.filter((e) => e.kind === 'deferral').length, 7)
  for (const e of CATALOG) {
    assert.equal(e.kind === 'deferral', e.smtp < 500, e.id)
    if (e.enhanced) assert.equal(e.enhanced[0], String(e.smtp)[0], e.id)
  }
})

test('every template appears in the provider table', () => {
  const spec = fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'response-codes.txt'), 'utf8').replace(/\\_/g, '_')
  for (const e of PROVIDER_ROWS) {
    assert.ok(spec.includes(`"${e.template}"`), `${e.id} template not in the table`)
    assert.ok(spec.includes(`${e.smtp} ${e.enhanced ? `${e.enhanced} ` : ''}${e.codes.join(', ')} "`), `${e.id} codes`)
    if (e.meaning) assert.ok(spec.includes(e.meaning), `${e.id} meaning`)
  }
})

test('tag_all appends the code to the six untagged replies only', () => {
  const untagged = [...new Set(CATALOG.filter(isUntagged).map((e) => e.id))]
  assert.deepEqual(untagged.sort(), ['G28', 'G29', 'G30', 'G34', 'GE', 'R2'])
  assert.equal(renderLine(entryFor('G34'), {}, { tagAll: true }), '550 5.0.0 Sender is not allowed to send with empty mail_from (G34)')
  assert.equal(renderLine(entryFor('G30'), {}, { tagAll: true }), '450 4.2.1 Mailbox received too much email in a short period of time (G30)')
  assert.equal(renderLine(entryFor('G16'), {}, { tagAll: true }), '450 4.4.6 Routing loop detected (G16)')
})

test('variables: a missing one leaves the row\'s fixed text; anything but printable ASCII is replaced', () => {
  const missing = renderVerdict({ id: 'G1F' }, 'connect')
  assert.equal(missing.line, '450 4.7.1 Client host {IP} has no PTR record (G1F)')
  assert.deepEqual(missing.missing, ['{IP}'])
  assert.equal(
    renderVerdict({ id: 'G8/G9', vars: { email: 'bob@x.example\r\n250 OK' } }, 'data').line,
    '550 5.1.1 bob@x.example??250 OK: Email address could not be found, or was misspelled (G8, G9)',
  )
  // C1 controls, U+2028, non-ASCII letters
  assert.equal(
    renderVerdict({ id: 'GE', vars: { email: 'a\u0085b\u2028c\u00e9@x.example' } }, 'rcpt').line,
    '554 5.7.1 a?b?c?@x.example: Sender address rejected: Blocked by this recipient',
  )
})

test('one pass: placeholder text inside a value is sent as it is', () => {
  for (const email of ['${zone}@blocked.example', '"{DMARC DOMAIN}"@blocked.example', '{EMAIL}@blocked.example', '${ip}{IP}${result}@x']) {
    assert.equal(
      renderVerdict({ id: 'GE', vars: { email } }, 'rcpt').line,
      `554 5.7.1 ${email}: Sender address rejected: Blocked by this recipient`,
    )
  }
  assert.equal(
    renderVerdict({ id: 'G31', vars: { ip: '{IP}', zone: '${result}', result: '${zone}' } }, 'rcpt').line,
    '554 5.7.1 ACL dns_rbl; Client host [{IP}] blocked using ${result}=${zone} Senderscore. Please visit https://senderscore.org/rtbl/ for more information on why this message could not be delivered (G31)',
  )
})

test('every line is at most 512 octets with CRLF: the longest values are cut, the row\'s text stays whole', () => {
  const long = `"${'x'.repeat(22000)}"@sender.example`
  const g1e = renderVerdict({ id: 'G1E', vars: { email: long } }, 'data').line
  assert.equal(g1e.length, MAX_LINE)
  assert.ok(g1e.startsWith('450 4.4.0 "xxxx'))
  assert.ok(g1e.endsWith('...: Temporary DMARC DNS lookup failure (G1E)'))
  // several values: each gets a fair share, short ones are kept whole
  const g31 = renderVerdict({ id: 'G31', vars: { ip: '198.18.0.1', zone: 'z'.repeat(600), result: 'r'.repeat(600) } }, 'rcpt').line
  assert.ok(g31.length <= MAX_LINE && g31.length >= MAX_LINE - 1, String(g31.length))
  assert.ok(g31.includes('[198.18.0.1]'))
  assert.ok(g31.endsWith('for more information on why this message could not be delivered (G31)'))
  const zoneCut = /using (z+\.\.\.)=(r+\.\.\.) /.exec(g31)
  assert.ok(zoneCut)
  assert.ok(Math.abs(zoneCut[1].length - zoneCut[2].length) <= 1)
  // tag_all's suffix counts too
  const ge = renderVerdict({ id: 'GE', vars: { email: 'a'.repeat(1000) } }, 'rcpt', { tagAll: true }).line
  assert.equal(ge.length, MAX_LINE)
  assert.ok(ge.endsWith('...: Sender address rejected: Blocked by this recipient (GE)'))
  for (const e of CATALOG) {
    const vars = { ip: '9'.repeat(700), email: 'e'.repeat(700), zone: 'z'.repeat(700), result: 'r'.repeat(700), mailFromDomain: 'm'.repeat(700), dmarcDomain: 'd'.repeat(700) }
    const line = renderVerdict({ id: e.id as CodeId, vars }, e.phase, { tagAll: true }).line
    assert.ok(line.length <= MAX_LINE, `${e.id}: ${line.length}`)
    assert.match(line, /^[\x20-\x7e]+$/)
  }
})

test('entryFor prefers the row of the phase', () => {
  assert.equal(entryFor('G1A', 'data').phase, 'data')
  assert.equal(entryFor('G8/G9', 'rcpt').phase, 'rcpt')
  assert.throws(() => entryFor('G99' as CodeId), /unknown catalog id/)
})

test('the bundle\'s own replies: outside the table, never tagged', () => {
  const own = CATALOG.filter((e) => e.source === 'bundle')
  assert.deepEqual(own.map((e) => e.id), ['VIRUS-TEMP', 'MX-TEMP', 'SCAN-TEMP'])
  assert.equal(renderLine(entryFor('VIRUS-TEMP'), {}, { tagAll: true }), '451 4.3.0 Virus scanner unavailable, try again later')
  assert.equal(renderLine(entryFor('SCAN-TEMP'), {}, { tagAll: true }), '451 4.3.0 Message could not be scanned, try again later')
})

test('docs/codes.md is generated from the catalog (run npm run docs)', () => {
  const committed = fs.readFileSync(path.join(ROOT, 'docs', 'codes.md'), 'utf8')
  assert.equal(committed, codesMarkdown())
})
