// Every scan limit a sender can reach ends in an answer, never in acceptance:
// the data phase with the package defaults refuses with G1A, or defers with
// SCAN-TEMP for the limits named in [scan] defer. The message's own header
// section is judged before authentication is started. And the scan grows
// linearly on every hostile shape: time at 4n within 5 times the time at n.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as v8 from 'node:v8'
import * as vm from 'node:vm'
import * as gen from '../../rig/hostile-gen'
import { extensionOf } from '../../../plugins/lib/checks/attachments'
import { ContentFacts, scanContent, timedOut } from '../../../plugins/lib/content/scan'
import { MemoryBudgetExceeded } from '../../../plugins/lib/haraka/message-capture'
import { findUuencodeBegins } from '../../../plugins/lib/mime/uuencode'
import { scanMime } from '../../../plugins/lib/mime/scan'
import { DataFacts, DataSettings, dataPhase } from '../../../plugins/lib/phases/data'
import { PhaseRun } from '../../../plugins/lib/phases/run'
import { readSettings } from '../../../plugins/lib/config/settings'

const BANNED = new Set(['exe', 'scr', 'bat'])

/** The package defaults, with SPF and DMARC off unless asked. */
function settings(raw: Record<string, Record<string, unknown>> = {}, auth = false): DataSettings {
  const off = auth ? {} : { spf: { reject_fail: false }, dmarc: { reject: false, temperror: 'accept' } }
  return readSettings('support-codes-data.ini', { ...off, ...raw }).settings
}

interface Judged {
  run: PhaseRun
  /** How many times authenticate() was called. */
  authCalls: number
  /** What dataPhase threw: authentication is not part of these tests, so a message that reaches it ends there. */
  error?: Error
}

const NO_AUTH = 'authentication is not part of this test'

async function judge(raw: Buffer, own: DataSettings, extra: Partial<DataFacts> = {}, monitor = false): Promise<Judged> {
  const run = new PhaseRun(() => monitor)
  const judged: Judged = { run, authCalls: 0 }
  try {
    await dataPhase(run, own, {
      received: [],
      self: ['mx.example.com'],
      raw: async () => raw,
      banned: BANNED,
      authenticate: () => {
        judged.authCalls++
        return Promise.reject(new Error(NO_AUTH))
      },
      ...extra,
    })
  } catch (err) {
    judged.error = err instanceof Error ? err : new Error(String(err))
  }
  return judged
}

/** The verdict that ended the phase: "id: reason", or "accepted". */
function outcome(run: PhaseRun): string {
  const v = run.stop?.verdict
  return v ? `${v.id}: ${v.reason ?? ''}` : 'accepted'
}

describe('each scan limit refuses with G1A by default; one step under it the banned file itself is seen', () => {
  const own = settings()
  const cases: Array<[string, Buffer, RegExp, Buffer, RegExp]> = [
    ['invoice.exe as part 1001 ([scan] max_parts 1000, the message itself counted)', gen.manyParts(999), /^G1A: parts limit: more than 1000 parts; part 1000 and after are not split$/,
      gen.manyParts(998), /^G1B: attachment invoice\.exe$/],
    ['invoice.exe at multipart depth 51 ([scan] max_depth 50)', gen.deepMultipart(51), /^G1A: depth limit: part (1\.){49}1: nested deeper than 50, kept as one part$/,
      gen.deepMultipart(50), /^G1B: attachment invoice\.exe$/],
    ['filename= after 128 KB of Content-Disposition parameters ([scan] max_header_bytes 100 KB)', gen.longDisposition(128 * 1024),
      /^G1A: header limit: part 2: the header section is longer than 102400 bytes, cut at content-disposition$/,
      gen.longDisposition(64 * 1024), /^G1B: attachment invoice\.exe$/],
    ['inside 4 levels of base64 message/rfc822 ([scan] max_encoded_messages 3)', gen.encodedMessages(4),
      /^G1A: messages limit: part 2 of an attached message 3 deep: an attached message encoded inside 3, over \[scan\] max_encoded_messages 3$/,
      gen.encodedMessages(3), /^G1B: attachment invoice\.exe$/],
  ]
  for (const [label, over, want, under, wantUnder] of cases) {
    test(label, async () => {
      const { run } = await judge(over, own)
      assert.match(outcome(run), want)
      assert.equal(run.stop?.check, 'scan')
      assert.equal(run.stop?.label, 'scan')
      // right after G16, before the content checks
      assert.deepEqual(run.steps.map((s) => s.check), ['loop', 'scan'])
      assert.match(outcome((await judge(under, own)).run), wantUnder)
    })
  }

  test('a limit reached inside an attached message decoded counts the same', async () => {
    // 3 levels of encoding are read; inside the innermost, a multipart 60 deep
    const inner = gen.deepMultipart(60).toString('latin1')
    const wrap = (message: string, level: number): string => {
      const b64 = (Buffer.from(message, 'latin1').toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')
      return `From: a@sender.example\r\nSubject: level ${level}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="w${level}"\r\n\r\n--w${level}\r\n` +
        `Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--w${level}--\r\n`
    }
    const raw = Buffer.from(wrap(wrap(inner, 1), 2), 'latin1')
    assert.match(outcome((await judge(raw, own)).run), /^G1A: depth limit: part 1 of an attached message 1 deep: part (1\.)+1: nested deeper than \d+, kept as one part$/)
  })

  test('problems that are only broken MIME are not limits: an unterminated multipart, no boundary, a bad header', async () => {
    const top = 'From: a@sender.example\r\nSubject: broken\r\nMIME-Version: 1.0\r\n'
    for (const body of [
      'Content-Type: multipart/mixed; boundary="zz"\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nno end\r\n',
      'Content-Type: multipart/mixed\r\n\r\n--zz\r\nx\r\n',
      'Content-Type: text/plain\r\nthis line is no header\r\n\r\nx\r\n',
    ]) {
      const { run } = await judge(Buffer.from(top + body), own)
      assert.equal(outcome(run), 'accepted', body)
      assert.equal(run.steps.find((s) => s.check === 'scan')?.saw, 'the scan read the whole message')
    }
  })
})

describe('[scan] defer: the limits named there defer with SCAN-TEMP', () => {
  test('defer=parts: the parts limit defers; the others still refuse', async () => {
    const own = settings({ scan: { defer: 'parts' } })
    assert.match(outcome((await judge(gen.manyParts(999), own)).run), /^SCAN-TEMP: parts limit: /)
    assert.match(outcome((await judge(gen.deepMultipart(51), own)).run), /^G1A: depth limit: /)
  })

  test('the scan thread timing out: SCAN-TEMP by default (timeout is in defer), G1A with defer empty', async () => {
    const slow = async (): Promise<ContentFacts> => timedOut('the scan thread did not finish a message of 10 bytes within 10000 ms')
    const raw = Buffer.from('Subject: x\r\n\r\nx\r\n')
    assert.equal(outcome((await judge(raw, settings(), { scan: slow })).run), 'SCAN-TEMP: timeout limit: the scan thread did not finish a message of 10 bytes within 10000 ms')
    assert.match(outcome((await judge(raw, settings({ scan: { defer: '' } }), { scan: slow })).run), /^G1A: timeout limit: /)
  })

  test('a message not kept for the memory budget: SCAN-TEMP by default, before anything reads it', async () => {
    const { run, authCalls } = await judge(Buffer.alloc(0), settings({}, true), {
      raw: () => Promise.reject(new MemoryBudgetExceeded('the messages in scan hold 268435000 bytes; [scan] max_kept_bytes is 268435456')),
    })
    assert.equal(outcome(run), 'SCAN-TEMP: memory limit: the messages in scan hold 268435000 bytes; [scan] max_kept_bytes is 268435456')
    assert.equal(authCalls, 0)
    // any other failure to read the message is not a limit: it stays the hook's error (logged, fail-open)
    assert.equal((await judge(Buffer.alloc(0), settings(), { raw: () => Promise.reject(new Error('no message stream')) })).error?.message, 'no message stream')
  })
})

describe('the message\'s own header section, before authentication', () => {
  test('one Subject folded over 50,000 lines (600 KB): G1A at once, and authenticate() is never called', async () => {
    const raw = gen.foldedHeader(50000)
    const started = performance.now()
    const { run, authCalls } = await judge(raw, settings({}, true))
    const ms = performance.now() - started
    assert.equal(outcome(run), 'G1A: header limit: the message\'s header section is longer than 102400 bytes ([scan] max_header_bytes)')
    assert.equal(authCalls, 0)
    // "At once": the limit is found by counting bytes, before any field is
    // read. Reading 50,000 folded lines one by one would take seconds; the
    // 1 s bound leaves a loaded machine room.
    assert.ok(ms < 1000, `${ms} ms`)
  })

  test('[scan] max_header_lines: 1001 lines refused, 1000 let through to the checks and authentication', async () => {
    const lines = (n: number): Buffer => Buffer.from(Array.from({ length: n - 1 }, (_, i) => `X-Line-${i}: ${i}`).concat('Subject: x', '', 'body', '').join('\r\n'))
    const over = await judge(lines(1001), settings({}, true))
    assert.equal(outcome(over.run), 'G1A: header limit: the message\'s header section has 1001 lines, over [scan] max_header_lines 1000')
    assert.equal(over.authCalls, 0)
    const at = await judge(lines(1000), settings({}, true))
    assert.equal(outcome(at.run), 'accepted')
    assert.equal(at.run.steps.find((s) => s.check === 'scan')?.verdict, undefined)
    assert.equal(at.authCalls, 1)
    assert.equal(at.error?.message, NO_AUTH)
  })

  test('judged whenever authentication is on, even with every content check off; in monitor mode authentication is still not started', async () => {
    const off = { mime: { partial: false, contenttype: false }, attachments: { archives: false, banned: false, winzip: false, clsid: false } }
    const raw = gen.foldedHeader(20000)
    const { run, authCalls } = await judge(raw, settings(off, true))
    assert.match(outcome(run), /^G1A: header limit: /)
    assert.equal(authCalls, 0)
    const monitored = await judge(raw, settings({}, true), {}, true)
    assert.equal(monitored.run.stop, undefined)
    assert.equal(monitored.run.steps.find((s) => s.check === 'scan')?.monitor, true)
    assert.equal(monitored.authCalls, 0)
  })
})

describe('uuencode begin lines', () => {
  test('500 begin lines with data and no "end", the last naming invoice.exe: G1B, each file\'s data ends at the next begin line', async () => {
    const raw = gen.uuencodeBegins({ files: 500, dataLines: 100 })
    const started = performance.now()
    const { run } = await judge(raw, settings())
    const ms = performance.now() - started
    assert.equal(outcome(run), 'G1B: attachment invoice.exe')
    assert.ok(ms < 2000, `${ms} ms`)
    const begins = findUuencodeBegins(raw, 0, raw.length, 1000)
    assert.equal(begins.length, 500)
    for (let i = 0; i + 1 < begins.length; i++) assert.equal(begins[i].dataEnd, begins[i + 1].lineStart)
    assert.equal(begins[499].dataEnd, raw.length)
  })

  test('past 1000 begin lines in a message: the parts limit', async () => {
    assert.match(outcome((await judge(gen.uuencodeBegins({ files: 1001, dataLines: 1, bannedAt: -1 }), settings())).run), /^G1A: parts limit: more than 1000 uuencoded files; the rest are not named$/)
  })

  test('a begin line with a long run of spaces is read in one pass', () => {
    const line = (spaces: number): Buffer => Buffer.from(`text\r\nbegin 644${' '.repeat(spaces)}x\rname.exe\r\nM\r\n`)
    const t0 = performance.now()
    assert.deepEqual(findUuencodeBegins(line(200000), 0, line(200000).length, 10), [])
    // One pass takes a few ms; a backtracking read of 200,000 spaces would
    // take minutes. 1 s leaves a loaded machine room.
    assert.ok(performance.now() - t0 < 1000, `${performance.now() - t0} ms`)
    assert.equal(findUuencodeBegins(Buffer.from('begin 0644   a b.exe\n'), 0, 21, 10)[0].name, 'a b.exe')
    assert.equal(findUuencodeBegins(Buffer.from('begin-base64 644 c.exe\n'), 0, 23, 10)[0].form, 'base64')
    assert.deepEqual(findUuencodeBegins(Buffer.from('begin 64444 d.exe\nbegin x e.exe\nbeginner 644 f.exe\n'), 0, 52, 10), [])
  })
})

describe('a scan in place (with a deadline) hands over what would hold Haraka\'s thread', () => {
  const own = settings()
  const b64 = (data: Buffer): string => (data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')

  test('a step of more than 2 MB (a text body sent base64, a zip attachment) is not run in place: the timeout limit, which sends it to the thread', () => {
    const text = Buffer.from(`Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64(Buffer.alloc(2_000_000, 0x61))}\r\n`)
    assert.match(scanContent(text, own, 30).limit?.detail ?? '', /^a step of \d+ bytes is not run in place \(over 2097152\)$/)
    const zip = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(2_000_000, 1)])
    const withZip = Buffer.from(`Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: application/zip; name=a.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64(zip)}\r\n`)
    assert.equal(scanContent(withZip, own, 30).limit?.name, 'timeout')
    // without a deadline (on the thread) the same messages are read whole
    assert.equal(scanContent(text, own).limit, undefined)
    assert.equal(scanContent(withZip, own).attachments?.archives[0]?.unsafe !== undefined, true)
  })

  test('past the deadline the scan stops with the timeout limit, never throws', () => {
    const many = gen.manyParts(900)
    const facts = scanContent(many, own, 0)
    assert.deepEqual(facts, { problems: [], contentTypes: [], limit: { name: 'timeout', detail: 'the scan in place passed its 0 ms deadline' } })
    assert.equal(scanContent(many, own, 10000).limit, undefined)
  })
})

describe('file names on Haraka\'s own thread', () => {
  test('extensionOf: the last extension, trailing dots and white space left out, paths and dot files', () => {
    const cases: Array<[string, string]> = [
      ['invoice.pdf.exe', 'exe'], ['SETUP.EXE. . ', 'exe'], ['C:\\x\\evil.Scr', 'scr'], ['a/b/run.bat\u00a0', 'bat'], ['.htaccess', 'htaccess'],
      ['.', ''], ['noext', ''], ['dir.d/file', ''], ['a.exe/', ''], ['a/.x', 'x'], ['', ''], ['trail.exe\t\u3000', 'exe'],
    ]
    for (const [name, want] of cases) assert.equal(extensionOf(name), want, JSON.stringify(name))
  })

  test('extensionOf is linear on a long run of spaces or dots before the end (a regex took 480 ms for 20,000)', () => {
    const names = ['a' + ' '.repeat(100000) + 'b', 'x' + '.'.repeat(100000) + 'y', 'z' + ' .'.repeat(50000)]
    const t0 = performance.now()
    assert.deepEqual(names.map(extensionOf), ['', 'y', ''])
    // Quadratic, 100,000 would take about 25 times the regex's 480 ms for
    // 20,000; linear, a few ms. 1 s leaves a loaded machine room.
    assert.ok(performance.now() - t0 < 1000, `${performance.now() - t0} ms`)
  })
})

// --- linear growth ---------------------------------------------------------

const RUNS = 7
const GROWTH = 5
const SLACK_MS = 5

// A full collection before each timed run, so that no run pays for the garbage of the one before.
v8.setFlagsFromString('--expose-gc')
const collect = vm.runInNewContext('gc') as () => void

/** The least time of RUNS runs of each, taken in turns after a warm-up, so that a busy moment of the machine falls on both alike. */
function bestOfBoth(a: () => unknown, b: () => unknown): [number, number] {
  a()
  b()
  const t = [Infinity, Infinity]
  for (let i = 0; i < RUNS; i++) {
    ;[a, b].forEach((fn, k) => {
      collect()
      const t0 = performance.now()
      fn()
      t[k] = Math.min(t[k], performance.now() - t0)
    })
  }
  return [t[0], t[1]]
}

/** Many open multiparts whose boundaries share a long prefix, then n lines that match each one but its last byte. */
function sharedPrefixBoundaries(n: number): Buffer {
  const prefix = 'p'.repeat(900)
  const open: string[] = []
  for (let i = 0; i < 50; i++) open.push(`Content-Type: multipart/mixed; boundary="${prefix}${String(i).padStart(2, '0')}"`, '', `--${prefix}${String(i).padStart(2, '0')}`)
  const body = Array.from({ length: n }, () => `--${prefix}zz`)
  return Buffer.from(['Subject: x', 'MIME-Version: 1.0', ...open, ...body, ''].join('\r\n'))
}

/** One Content-Disposition of n RFC 2231 sections given in reverse order. */
function rfc2231Sections(n: number): Buffer {
  const sections = Array.from({ length: n }, (_, i) => ` filename*${n - 1 - i}*=%41${i === 0 ? '.exe' : ''};`)
  return Buffer.from(`Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment;\r\n${sections.join('\r\n')}\r\n\r\nx\r\n`)
}

/** n encoded words in a file name. */
function encodedWords(n: number): Buffer {
  const words = Array.from({ length: n }, (_, i) => `=?utf-8?q?w${i}?=`).join(' ')
  return Buffer.from(`Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="${words}"\r\n\r\nx\r\n`)
}

/** A message whose part repeats Content-Transfer-Encoding (read every way), then n "--" lines each with a line of base64 and junk. */
function disputedStretches(n: number): Buffer {
  const body = Array.from({ length: n }, (_, i) => `--s${i}\r\nUEsDBB#QAAAAIAAAAIQCJImGqMwAAADEAAAALAAAAcGF5bG9hZC5jb23zjZrAwMzAwBCS=kVm`).join('\r\n')
  return Buffer.from(`Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: base64\r\n\r\n${body}\r\n`)
}

/** n bytes of base64 with junk between quanta and "=" in mid stream, in a part that repeats its encoding field. */
function damagedBase64(n: number): Buffer {
  const line = 'UEs#DBBQ=AAAAIAAAAIQCJ_ImGqMwAAADEAAAALAAAAcGF5bG9hZC5jb23zjZrAwMzAwBCSkVm\r\n'
  return Buffer.from(`Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: base64\r\n\r\n${line.repeat(Math.ceil(n / line.length))}`)
}

describe('the scan grows linearly on every hostile shape (time at 4n within 5 times n, plus 5 ms)', () => {
  const own = settings()
  // Limits high enough that the shapes at 4n are still read whole.
  const open = { ...own, scan: { ...own.scan, max_parts: 100000, max_depth: 1000, max_header_bytes: 64 * 1024 * 1024 } }
  // The shapes of many tiny parts are taken with the package defaults, as a node reads them: read whole, 100,000 parts of 12 bytes cost most of their time in the collector.
  const shapes: Array<[string, number, (n: number) => Buffer, DataSettings?]> = [
    ['n uuencode begin lines with data and no "end"', 100, (n) => gen.uuencodeBegins({ files: n, dataLines: 50 })],
    ['n MIME parts', 1000, (n) => gen.manyParts(n)],
    ['n nested multiparts', 100, (n) => gen.deepMultipart(n)],
    ['a header folded over n lines', 5000, (n) => gen.foldedHeader(n)],
    ['n bytes of Content-Disposition parameters', 32 * 1024, (n) => gen.longDisposition(n)],
    ['n "--" lines against 50 open boundaries with a common 900-byte prefix', 500, sharedPrefixBoundaries],
    // RFC 2231 numbers sections up to 999 (params.ts MAX_SEGMENT)
    ['n RFC 2231 sections in reverse order', 200, rfc2231Sections],
    ['n encoded words in a file name', 1000, encodedWords],
    ['n bytes of "--boundary" lines', 256 * 1024, (n) => gen.boundaryLines(n), own],
    ['n bytes of begin lines', 256 * 1024, (n) => gen.uuBeginLines(n), own],
    // read every way: each stretch decoded a fixed number of ways
    ['n "--" stretches of a disputed message', 500, disputedStretches],
    ['n bytes of damaged base64 in a disputed part', 256 * 1024, damagedBase64],
  ]
  for (const [label, n, make, limits = open] of shapes) {
    test(label, () => {
      const small = make(n)
      const large = make(4 * n)
      // A busy machine can slow the runs of one size only; a shape that grows
      // faster than linearly fails every round, so a failing round is
      // measured again, twice at most.
      const rounds: string[] = []
      for (let round = 0; round < 3; round++) {
        const [a, b] = bestOfBoth(() => scanContent(small, limits), () => scanContent(large, limits))
        rounds.push(`n: ${a.toFixed(2)} ms, 4n: ${b.toFixed(2)} ms`)
        if (b <= GROWTH * a + SLACK_MS) return
      }
      assert.fail(rounds.join('; '))
    })
  }

  test('the shapes are read whole at 4n (no limit cut them short)', () => {
    assert.equal(scanMime(gen.manyParts(2000), { maxParts: 100000, maxDepth: 1000, maxHeaderBytes: 1 << 26 }).parts.length, 2002)
    assert.equal(scanContent(rfc2231Sections(800), open).attachments?.filenames[0], `${'A'.repeat(800)}.exe`)
  })
})

test('a message larger than [virus] max_bytes is never taken for clean: clamd is not asked, on_error decides', async () => {
  const raw = Buffer.from('From: a@sender.example\r\nTo: b@example.com\r\nSubject: big\r\n\r\n' + 'x'.repeat(2048) + '\r\n')
  // A port nothing listens on: were clamd asked, the reason would name the connection.
  const own = settings({ virus: { clamd: '127.0.0.1:9', max_bytes: 1024 } })
  const deferred = await judge(raw, own)
  assert.equal(deferred.run.stop?.verdict?.id, 'VIRUS-TEMP')
  assert.match(deferred.run.stop?.verdict?.reason ?? '', /larger than \[virus\] max_bytes \(1024\): not scanned$/)
  const accepted = await judge(raw, settings({ virus: { clamd: '127.0.0.1:9', max_bytes: 1024, on_error: 'accept' } }))
  assert.equal(accepted.run.stop, undefined)
})
