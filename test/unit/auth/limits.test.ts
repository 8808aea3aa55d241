// The bounds on authentication work that need no DNS: the lookup budget's
// shares, the DKIM input (bare LFs, long lines), and the alignment rule for
// temporary failures. Against the DNS server on loopback:
// test/rig/auth-limits.test.ts.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mulberry32 } from '../../rig/prng'
import { LookupBudget } from '../../../plugins/lib/dns/mailauth'
import { couldAlign } from '../../../plugins/lib/auth/dmarc'
import { CHUNK_BYTES, hasLongLine, MAX_LINE_BYTES, signaturesToVerify, withCrlf } from '../../../plugins/lib/auth/dkim-input'
import { readHeaders } from '../../../plugins/lib/auth/headers'

const message = (from: string, body = 'Hello.\r\n'): string => `From: ${from}\r\nTo: bob@example.com\r\nSubject: limits\r\n\r\n${body}`

describe('[dns] max_lookups', () => {
  it('shares: SPF and DMARC each keep a third until they use it', () => {
    const b = new LookupBudget(30)
    const takes = (use: 'spf' | 'dkim' | 'dmarc', n: number): number => Array.from({ length: n }, () => b.take(use)).filter(Boolean).length
    assert.equal(takes('dkim', 15), 10, 'DKIM gets what is not kept')
    assert.equal(takes('dmarc', 15), 10)
    assert.equal(takes('spf', 15), 10)
    assert.deepEqual([b.total, b.refused], [30, 15])
    const c = new LookupBudget(30)
    assert.equal(Array.from({ length: 40 }, () => c.take('spf')).filter(Boolean).length, 20, 'SPF alone may use all but the DMARC share')
  })
})

describe('[dmarc] max_dkim_signatures and the h= bound', () => {
  it('nothing left out: the message is handed over unchanged', () => {
    const raw = Buffer.from(message('<a@b.example>'))
    const head = readHeaders(raw)
    assert.equal(signaturesToVerify(raw, head, 10).raw, raw)
  })
})

describe('DKIM input', () => {
  it('bare LFs made CRLF chunk by chunk as mailauth would make them, whatever the cuts', () => {
    const rand = mulberry32(14)
    const alphabet = ['\n', '\r', '\r\n', 'a', ' ', '\t']
    for (let round = 0; round < 200; round++) {
      const text = Array.from({ length: 1 + Math.floor(rand() * 200) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('')
      const buf = Buffer.from(text, 'latin1')
      const want = text.replace(/(?<!\r)\n/g, '\r\n')
      const parts: Buffer[] = []
      for (let pos = 0; pos < buf.length;) {
        const size = 1 + Math.floor(rand() * 8)
        parts.push(withCrlf(buf.subarray(pos, pos + size), pos > 0 ? buf[pos - 1] : undefined))
        pos += size
      }
      assert.equal(Buffer.concat(parts).toString('latin1'), want, JSON.stringify(text))
    }
  })

  it('long lines found at the limit, across windows', () => {
    const at = (n: number, pre = 0): Buffer => Buffer.concat([Buffer.alloc(pre, 0x62), Buffer.from('\n'), Buffer.alloc(n, 0x61), Buffer.from('\r\n')])
    assert.equal(hasLongLine(at(MAX_LINE_BYTES - 1), 0), false, 'limit counts the CR')
    assert.equal(hasLongLine(at(MAX_LINE_BYTES + 1), 0), true)
    assert.equal(hasLongLine(at(MAX_LINE_BYTES + 1, CHUNK_BYTES - 3), 0), true)
    assert.equal(hasLongLine(Buffer.alloc(MAX_LINE_BYTES + 1, 0x61), 0), true, 'no LF at all')
    assert.equal(hasLongLine(Buffer.alloc(3 * MAX_LINE_BYTES, 0x0a), 0), false)
  })
})

describe('temporary failures and alignment', () => {
  it('an identifier can align only at or below the Organizational Domain', () => {
    assert.equal(couldAlign('mail.example.com', 'news.example.com', 'example.com'), true)
    assert.equal(couldAlign('example.com', 'news.example.com', 'example.com'), true)
    assert.equal(couldAlign('News.Example.com.', 'news.example.com', undefined), true)
    assert.equal(couldAlign('example.net', 'news.example.com', 'example.com'), false)
    assert.equal(couldAlign('badexample.com', 'example.com', 'example.com'), false)
    assert.equal(couldAlign('mail.example.com', 'news.example.com', undefined), false, 'no Organizational Domain known: the Author Domain only')
  })
})
