// The list files (recipients, sender blocks, MX blocklist) and the checks
// built on them: G8/G9, GE, and G14 on facts written by hand. G14 against
// the DNS server on loopback: test/rig/mx-blocklist.test.ts.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { parseListLines, parseAddress } from '../../../plugins/lib/lists/list-file'
import { Directory } from '../../../plugins/lib/lists/recipients'
import { recipientCheck } from '../../../plugins/lib/checks/recipients'
import { SenderBlocks } from '../../../plugins/lib/lists/sender-blocks'
import { senderBlockCheck } from '../../../plugins/lib/checks/sender-blocks'
import { MxBlocklist } from '../../../plugins/lib/lists/mx-blocklist'
import { senderMxCheck, SenderMxFacts } from '../../../plugins/lib/checks/sender-mx'

// Where a parse reported problems: [line, text] pairs.
function where(problems: ReadonlyArray<{ line: number; text: string }>): Array<[number, string]> {
  return problems.map((p) => [p.line, p.text])
}

describe('list file reader', () => {
  const parseWord = (text: string): { word: string } | string => (/^\w+$/.test(text) ? { word: text } : 'not a word')

  test('comments anywhere, blank lines, CR and BOM, 1-based line numbers', () => {
    const lines = [
      '\uFEFFfirst',
      '# a comment line',
      '',
      '   ',
      '  second   # a comment after the entry',
      'third\r',
      '\t#indented comment',
      'two words',
      'fourth#no space before the comment',
      'bad-word # comment',
      '#',
    ]
    const { entries, problems } = parseListLines('f.list', lines, parseWord)
    assert.deepEqual(entries.map((e) => e.word), ['first', 'second', 'third', 'fourth'])
    assert.deepEqual(problems, [
      { file: 'f.list', line: 8, text: 'two words', message: 'not a word' },
      { file: 'f.list', line: 10, text: 'bad-word', message: 'not a word' },
    ])
  })

  test('an empty file has nothing and no problems', () => {
    assert.deepEqual(parseListLines('f', [], parseWord), { entries: [], problems: [] })
  })

  test('address syntax', () => {
    assert.deepEqual(parseAddress('Bob.Smith@Example.COM.'), { local: 'bob.smith', domain: 'example.com' })
    assert.deepEqual(parseAddress("o'neil+x_y=z@mx-1.example"), { local: "o'neil+x_y=z", domain: 'mx-1.example' })
    assert.deepEqual(parseAddress('jörg@example.de'), { local: 'jörg', domain: 'example.de' })
    for (const bad of ['nobody', '@example.com', 'a b@example.com', '.a@example.com', 'a.@example.com', 'a..b@example.com',
      'a"b@example.com', 'a@', 'a@example..com', 'a@-x.example', 'a@x-.example', 'a@bad_domain.example', 'a@ex ample.com',
      `a@${'x'.repeat(64)}.example`, 'a@.example', 'a@example.com..']) {
      assert.equal(typeof parseAddress(bad), 'string', bad)
    }
  })
})

describe('recipients directory (G8/G9)', () => {
  const file = [
    '# support-codes.recipients',
    'Bob@Example.COM',
    'alice+news@example.com   # only this tag',
    '',
    '@Corp.Example.',
    'carol@example.com\r',
    'nobody',
    'dave smith@example.com',
    '@',
    '@bad_domain',
    'eve@',
    '@example..com',
    '.frank@example.com',
    'x@y@example.com',
  ]
  const { directory, problems } = Directory.parse(file)

  test('bad lines are reported with their numbers and skipped', () => {
    assert.deepEqual(where(problems), [
      [7, 'nobody'],
      [8, 'dave smith@example.com'],
      [9, '@'],
      [10, '@bad_domain'],
      [11, 'eve@'],
      [12, '@example..com'],
      [13, '.frank@example.com'],
      [14, 'x@y@example.com'],
    ])
    assert.ok(problems.every((p) => p.file === 'support-codes.recipients' && p.message.length > 0))
    assert.equal(problems[0].message, 'no @ in the address')
    assert.equal(problems[1].message, 'white space inside the address')
    assert.equal(directory.size, 4)
  })

  test('case-insensitive in local part and domain; trailing dot', () => {
    assert.ok(directory.has('bob@example.com'))
    assert.ok(directory.has('BOB@EXAMPLE.COM'))
    assert.ok(directory.has('bob@example.com.'))
    assert.ok(directory.has('carol@example.com'))
    assert.ok(!directory.has('bobby@example.com'))
    assert.ok(!directory.has('bob@example.org'))
    assert.ok(!directory.has('bob'))
    assert.ok(!directory.has(''))
  })

  test('+tag: user+tag is valid when user+tag or user is listed (RFC 5233)', () => {
    assert.ok(directory.has('bob+anything@example.com'))
    assert.ok(directory.has('Bob+Tag+More@Example.com'))
    assert.ok(directory.has('bob+@example.com'))
    assert.ok(directory.has('alice+news@example.com'))
    assert.ok(directory.has('ALICE+NEWS@example.com'))
    assert.ok(!directory.has('alice@example.com'), 'listing a tag does not list the mailbox')
    assert.ok(!directory.has('alice+other@example.com'))
    assert.ok(!directory.has('+bob@example.com'))
    assert.ok(!directory.has('bob-tag@example.com'), '"+" is the only separator')
  })

  test('@domain accepts the whole domain, not its subdomains', () => {
    assert.ok(directory.has('anyone@corp.example'))
    assert.ok(directory.has('Someone+x@CORP.example.'))
    assert.ok(!directory.has('anyone@sub.corp.example'))
  })

  test('recipientCheck: only the configured domains are checked', () => {
    const cfg = { domains: ['Example.com', 'corp.example'] }
    assert.deepEqual(recipientCheck({ rcpt: 'nobody@example.com', domain: 'example.com' }, cfg, directory), {
      id: 'G8/G9',
      vars: { email: 'nobody@example.com' },
      reason: 'nobody@example.com is not in support-codes.recipients',
    })
    assert.equal(recipientCheck({ rcpt: 'Nobody@EXAMPLE.COM', domain: 'EXAMPLE.COM' }, cfg, directory)?.vars?.email, 'Nobody@EXAMPLE.COM')
    assert.equal(recipientCheck({ rcpt: 'bob@example.com', domain: 'example.com' }, cfg, directory), undefined)
    assert.equal(recipientCheck({ rcpt: 'bob+x@example.com', domain: 'example.com' }, cfg, directory), undefined)
    assert.equal(recipientCheck({ rcpt: 'x@corp.example', domain: 'corp.example' }, cfg, directory), undefined)
    assert.equal(recipientCheck({ rcpt: 'nobody@other.example', domain: 'other.example' }, cfg, directory), undefined)
    assert.equal(recipientCheck({ rcpt: 'nobody@example.com', domain: 'example.com' }, { domains: [] }, directory), undefined)
    // A checked domain with an empty directory refuses everyone.
    const empty = Directory.parse([]).directory
    assert.equal(recipientCheck({ rcpt: 'bob@example.com', domain: 'example.com' }, cfg, empty)?.id, 'G8/G9')
  })
})

describe('sender blocks (GE)', () => {
  const file = [
    '# RECIPIENT SENDER',
    'bob@example.com   spammer@evil.example',
    'bob@example.com\t@junk.example   # every sender of the domain',
    '@example.com  boss@old-job.example',
    '*  @blocked.example',
    'Carol@Example.COM  Mallory+List@Evil.Example.',
    '',
    'bad line here',
    'bob@example.com',
    'bob@example.com *',
    'nobody spammer@evil.example',
    'bob@example.com @bad_domain',
    '*  *',
  ]
  const { blocks, problems } = SenderBlocks.parse(file)

  test('bad lines are reported with their numbers', () => {
    assert.deepEqual(where(problems), [
      [8, 'bad line here'],
      [9, 'bob@example.com'],
      [10, 'bob@example.com *'],
      [11, 'nobody spammer@evil.example'],
      [12, 'bob@example.com @bad_domain'],
      [13, '*  *'],
    ])
    assert.equal(problems[0].message, 'expected RECIPIENT SENDER')
    assert.equal(problems[2].message, 'sender: the sender side cannot be *')
    assert.match(problems[3].message, /^recipient: /)
    assert.equal(blocks.size, 5)
  })

  test('exact pairs, any case', () => {
    assert.ok(blocks.blocked('bob@example.com', 'spammer@evil.example'))
    assert.ok(blocks.blocked('BOB@Example.com', 'Spammer@EVIL.example'))
    assert.ok(!blocks.blocked('dave@example.org', 'spammer@evil.example'))
    assert.ok(!blocks.blocked('bob@example.com', 'friend@evil.example'))
    assert.equal(blocks.match('bob@example.com', 'spammer@evil.example'), 'bob@example.com spammer@evil.example')
  })

  test('@domain on either side, the domain exactly', () => {
    assert.equal(blocks.match('bob@example.com', 'news@junk.example'), 'bob@example.com @junk.example')
    assert.ok(!blocks.blocked('bob@example.com', 'news@sub.junk.example'))
    assert.ok(!blocks.blocked('carol@example.com', 'news@junk.example'), 'the rule is for bob only')
    assert.equal(blocks.match('anyone@example.com', 'boss@old-job.example'), '@example.com boss@old-job.example')
    assert.ok(!blocks.blocked('anyone@sub.example.com', 'boss@old-job.example'))
  })

  test('* covers every recipient', () => {
    assert.equal(blocks.match('who@ever.example', 'x@blocked.example'), '* @blocked.example')
    assert.ok(blocks.blocked('bob@example.com', 'X@Blocked.Example'))
    assert.ok(!blocks.blocked('who@ever.example', 'x@unblocked.example'))
  })

  test('+tag on either side does not get round a rule', () => {
    assert.ok(blocks.blocked('bob+inbox@example.com', 'spammer@evil.example'))
    assert.ok(blocks.blocked('bob@example.com', 'spammer+campaign7@evil.example'))
    assert.ok(blocks.blocked('carol@example.com', 'mallory+list@evil.example'))
    assert.ok(!blocks.blocked('carol@example.com', 'mallory@evil.example'), 'a rule for a tag covers that tag only')
  })

  test('the null sender is never blocked', () => {
    assert.ok(!blocks.blocked('bob@example.com', ''))
    assert.ok(!blocks.blocked('anyone@example.com', ''))
    assert.equal(senderBlockCheck({ rcpt: 'bob@example.com', sender: '' }, blocks), undefined)
  })

  test('senderBlockCheck', () => {
    assert.deepEqual(senderBlockCheck({ rcpt: 'bob@example.com', sender: 'Spammer@evil.example' }, blocks), {
      id: 'GE',
      vars: { email: 'Spammer@evil.example' },
      reason: 'Spammer@evil.example blocked for bob@example.com by "bob@example.com spammer@evil.example"',
    })
    assert.equal(senderBlockCheck({ rcpt: 'bob@example.com', sender: 'friend@example.org' }, blocks), undefined)
    assert.equal(senderBlockCheck({ rcpt: 'bob@example.com', sender: 'x@blocked.example' }, SenderBlocks.parse([]).blocks), undefined)
  })
})

describe('MX blocklist', () => {
  const file = [
    '# support-codes.mx_blocklist',
    '.bad.example',
    'MX.Exact.Example.   # that host only',
    '203.0.113.0/24',
    '2001:db8:bad::/48',
    '198.51.100.7',
    '::ffff:192.0.2.0/120',
    '',
    'mx bad.example',
    '10.0.0.0/33',
    '1.2.3',
    '2001:db8::/129',
    '-x.example',
    '.',
    '10.0.0.1/8/1',
    'ünï.example',
    'fe80::1%eth0',
  ]
  const { list, problems } = MxBlocklist.parse(file)

  test('bad lines are reported with their numbers', () => {
    assert.deepEqual(where(problems), [
      [9, 'mx bad.example'],
      [10, '10.0.0.0/33'],
      [11, '1.2.3'],
      [12, '2001:db8::/129'],
      [13, '-x.example'],
      [14, '.'],
      [15, '10.0.0.1/8/1'],
      [16, 'ünï.example'],
      [17, 'fe80::1%eth0'],
    ])
    assert.equal(problems[1].message, 'bad prefix length /33')
    assert.equal(list.size, 6)
    assert.equal(list.hasAddresses, true)
    assert.equal(MxBlocklist.parse(['.bad.example', 'mx.example']).list.hasAddresses, false)
  })

  test('a leading dot matches hosts under the name, not the name itself', () => {
    assert.equal(list.matchHost('mx1.bad.example'), '.bad.example')
    assert.equal(list.matchHost('a.b.BAD.Example.'), '.bad.example')
    assert.equal(list.matchHost('bad.example'), undefined)
    assert.equal(list.matchHost('notbad.example'), undefined)
    assert.equal(list.matchHost('bad.example.org'), undefined)
  })

  test('a name without a dot matches that host exactly, any case, trailing dot or not', () => {
    assert.equal(list.matchHost('mx.exact.example'), 'mx.exact.example')
    assert.equal(list.matchHost('MX.EXACT.EXAMPLE.'), 'mx.exact.example')
    assert.equal(list.matchHost('x.mx.exact.example'), undefined)
    assert.equal(list.matchHost('exact.example'), undefined)
    assert.equal(list.matchHost(''), undefined)
  })

  test('addresses and CIDRs, IPv4 and IPv6, mapped IPv4', () => {
    assert.equal(list.matchAddress('203.0.113.5'), '203.0.113.0/24')
    assert.equal(list.matchAddress('::ffff:203.0.113.5'), '203.0.113.0/24')
    assert.equal(list.matchAddress('203.0.114.5'), undefined)
    assert.equal(list.matchAddress('2001:db8:bad:1::25'), '2001:db8:bad::/48')
    assert.equal(list.matchAddress('2001:DB8:0BAD::1'), '2001:db8:bad::/48')
    assert.equal(list.matchAddress('2001:db8:bae::1'), undefined)
    assert.equal(list.matchAddress('198.51.100.7'), '198.51.100.7')
    assert.equal(list.matchAddress('198.51.100.8'), undefined)
    assert.equal(list.matchAddress('192.0.2.200'), '::ffff:192.0.2.0/120')
    assert.equal(list.matchAddress('not an ip'), undefined)
    assert.equal(list.matchAddress('mx1.bad.example'), undefined)
  })
})

describe('G14 facts without DNS', () => {
  const { list } = MxBlocklist.parse(['.bad.example', '203.0.113.0/24'])
  const facts = (mx: SenderMxFacts['mx'], addresses?: SenderMxFacts['addresses']): SenderMxFacts =>
    ({ sender: 'alice@sender.example', domain: 'sender.example', mx, addresses })

  test('null MX, alone as "" or ".", refuses nothing; beside other records it is skipped', () => {
    for (const exchange of ['', '.']) {
      assert.equal(senderMxCheck(facts({ status: 'ok', values: [{ exchange, priority: 0 }] }, [
        { host: 'sender.example', lookup: { status: 'ok', values: ['203.0.113.1'] } },
      ]), list), undefined)
    }
    const mixed = facts({ status: 'ok', values: [{ exchange: '', priority: 0 }, { exchange: 'mx.bad.example', priority: 10 }] })
    assert.equal(senderMxCheck(mixed, list)?.reason, 'MX host mx.bad.example matches .bad.example')
  })

  test('a failed lookup defers (dns_error=defer, the default) or passes (accept); NXDOMAIN, an empty list or no domain refuses nothing', () => {
    assert.deepEqual(senderMxCheck(facts({ status: 'error', code: 'ESERVFAIL' }), list), {
      id: 'MX-TEMP', vars: { email: 'alice@sender.example' }, reason: 'MX lookup failed (ESERVFAIL)',
    })
    assert.equal(senderMxCheck(facts({ status: 'error', code: 'ESERVFAIL' }), list, { dns_error: 'accept' }), undefined)
    assert.equal(senderMxCheck(facts({ status: 'none', code: 'ENOTFOUND' }), list), undefined)
    const hit = facts({ status: 'ok', values: [{ exchange: 'mx.bad.example', priority: 10 }] })
    assert.equal(senderMxCheck(hit, MxBlocklist.parse([]).list), undefined)
    assert.equal(senderMxCheck({ ...hit, domain: '' }, list), undefined)
    assert.deepEqual(senderMxCheck(hit, list), {
      id: 'G14',
      vars: { email: 'alice@sender.example' },
      reason: 'MX host mx.bad.example matches .bad.example',
    })
  })
})
