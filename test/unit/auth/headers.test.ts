// For a message without a signature, From is read without running
// mailauth's DKIM verifier: the answer must be the verifier's, byte for byte.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { dkimVerify } from 'mailauth'
import { createRequire } from 'node:module'
import { headerEnd, maySign, parseFields, readHeaders } from '../../../plugins/lib/auth/headers'
import { mulberry32 } from '../../rig/prng'

const noDns = async (): Promise<never> => {
  throw Object.assign(new Error('no DNS in this test'), { code: 'ENOTFOUND' })
}

const MESSAGES: Record<string, string> = {
  plain: 'From: Alice <alice@sender.example>\r\nTo: bob@example.com\r\n\r\nbody\r\n',
  'bare LF': 'From: alice@sender.example\nSubject: x\n\nFrom: mallory@evil.example\n',
  'LF then CRLF ends the header': 'Subject: x\nFrom: a@one.example\n\r\nFrom: b@two.example\r\n\r\n',
  'no empty line': 'From: a@one.example\r\nSubject: x\r\n',
  'starts with an empty line': '\r\nFrom: a@one.example\r\n\r\n',
  'starts with a bare LF': '\nFrom: a@one.example\n\n',
  empty: '',
  'two From fields and a group': 'From: a@one.example, "Q, R" <q@two.example>\r\nfrom: team: x@three.example, y@four.example;\r\n\r\nhi\r\n',
  'folded From': 'From: Alice\r\n <alice@sender.example>\r\n\r\n',
  'fold before the colon': 'From\r\n : a@one.example\r\n\r\n',
  'group only': 'From: undisclosed-recipients:;\r\n\r\n',
  'no address': 'From: Alice\r\n\r\n',
  'UTF-8 name': 'From: =?utf-8?q?J=C3=B6rg?= <j@ex.example>, Jörg <k@ex.example>\r\n\r\n',
}

for (const [name, text] of Object.entries(MESSAGES)) {
  test(`From as dkimVerify reads it: ${name}`, async () => {
    const raw = Buffer.from(text)
    const verifier = await dkimVerify(raw, { resolver: noDns })
    const ours = readHeaders(raw)
    assert.deepEqual(ours.headerFrom, verifier.headerFrom)
    assert.equal(ours.fromFields, verifier.fromFields)
    assert.equal(maySign(ours.keys), false)
  })
}

test('a DKIM-Signature or any ARC field means the verifier runs', () => {
  assert.equal(maySign(readHeaders(Buffer.from('DKIM-Signature: v=1; d=x\r\nFrom: a@b.example\r\n\r\n')).keys), true)
  assert.equal(maySign(readHeaders(Buffer.from('dkim-signature\r\n : v=1\r\n\r\n')).keys), true)
  assert.equal(maySign(readHeaders(Buffer.from('ARC-Seal: i=1\r\n\r\n')).keys), true)
  // in the body, it is not a field
  assert.equal(maySign(readHeaders(Buffer.from('From: a@b.example\r\n\r\nDKIM-Signature: v=1\r\n')).keys), false)
})

test('the header section ends where the verifier ends it', () => {
  assert.equal(headerEnd(Buffer.from('A: 1\r\n\r\nB')), 8)
  assert.equal(headerEnd(Buffer.from('A: 1\n\nB')), 6)
  assert.equal(headerEnd(Buffer.from('A: 1\n\r\nB')), 7)
  assert.equal(headerEnd(Buffer.from('\nB')), 1)
  assert.equal(headerEnd(Buffer.from('\r\nB')), 2)
  assert.equal(headerEnd(Buffer.from('A: 1\r\n')), 6)
})

const fromMailauth = createRequire(require.resolve('mailauth'))
const { parseHeaders } = fromMailauth('mailauth/lib/tools') as { parseHeaders(buf: Buffer): { parsed: unknown[] } }

test('parseFields gives the fields mailauth\'s parseHeaders gives, on generated header sections', () => {
  const rand = mulberry32(5322)
  const pieces = ['From: a@b.example', 'Subject: x', ' folded', '\tfolded', 'From', ' : late colon', 'x', '', ' ', ':', 'Na me: v', 'S\u00e9: v',
    'DKIM-Signature: v=1;', '  h=from:to', 'X-A :', 'no colon here', 'To:', '\u2028odd', 'Ke\ty: v', 'A\r', '\r']
  for (let round = 0; round < 500; round++) {
    const n = 1 + Math.floor(rand() * 12)
    const lines = Array.from({ length: n }, () => pieces[Math.floor(rand() * pieces.length)])
    const eol = rand() < 0.3 ? '\n' : '\r\n'
    const buf = Buffer.from(lines.join(eol) + (rand() < 0.5 ? eol : ''), 'latin1')
    assert.deepEqual(parseFields(buf), parseHeaders(buf).parsed, JSON.stringify(lines))
  }
})

test('parseFields is linear in folded lines: 50,000 take no more than about 20 times 2,500', () => {
  const header = (n: number): Buffer => Buffer.from('From: a@b.example\r\nSubject: x' + '\r\n y'.repeat(n) + '\r\n')
  const time = (buf: Buffer): number => {
    const t0 = performance.now()
    for (let i = 0; i < 5; i++) parseFields(buf)
    return performance.now() - t0
  }
  // The least of five runs of each, taken in turns after a warm-up, so that a
  // busy moment of a loaded machine falls on both sizes alike.
  const small2500 = header(2500)
  const big50000 = header(50000)
  time(small2500)
  time(big50000)
  let small = Infinity
  let big = Infinity
  for (let i = 0; i < 5; i++) {
    small = Math.min(small, time(small2500))
    big = Math.min(big, time(big50000))
  }
  // Linear is 20 times; quadratic would be 400. Three times linear, plus
  // 50 ms for timer grain, tells them apart.
  assert.ok(big < 20 * small * 3 + 50, `2,500 lines: ${small.toFixed(1)} ms, 50,000: ${big.toFixed(1)} ms`)
})
