// The scan thread: the same facts as a scan in place, and a defined outcome
// when the thread cannot start, dies or hangs (real worker threads, real
// worker files that misbehave).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { ContentSettings, scanContent } from '../../../plugins/lib/content/scan'
import { ScanRoute, ScanThread } from '../../../plugins/lib/content/scan-thread'
import { SCHEMA } from '../../../plugins/lib/config/schema'
import { attachmentPart, mimeMessage, multipartPart, rfc822Part, uuencode } from '../../rig/mime-build'
import * as corpus from '../../rig/zip-corpus'

const defaults = SCHEMA['support-codes-data.ini']
const SETTINGS: ContentSettings = {
  mime: { partial: defaults.mime.partial.default, contenttype: defaults.mime.contenttype.default },
  attachments: Object.fromEntries(
    Object.entries(defaults.attachments).filter(([k]) => k !== 'monitor' && k !== 'unsafe_archive').map(([k, spec]) => [k, spec.default]),
  ) as ContentSettings['attachments'],
  scan: {
    max_parts: defaults.scan.max_parts.default, max_depth: defaults.scan.max_depth.default,
    max_header_bytes: defaults.scan.max_header_bytes.default, max_encoded_messages: defaults.scan.max_encoded_messages.default,
  },
}

const MESSAGES: Array<[string, Buffer]> = [
  ['plain text', Buffer.from(mimeMessage({ text: 'hello' }))],
  ['a banned name', Buffer.from(mimeMessage({ attachments: [{ name: 'run.exe', data: 'MZ' }] }))],
  ['nested zips', Buffer.from(mimeMessage({ attachments: [{ name: 'a.zip', data: corpus.nestedZip(3) }] }))],
  ['a bomb inside a zip', Buffer.from(mimeMessage({ attachments: [{ name: 'z.zip', data: corpus.zipOf({ 'zeros.zip': corpus.bombZip() }) }] }))],
  ['a lying directory', Buffer.from(mimeMessage({ attachments: [{ name: 'l.zip', data: corpus.lyingZip(corpus.LIES[0]) }] }))],
  ['message/partial inside a forward', Buffer.from(mimeMessage({ parts: [rfc822Part('Content-Type: message/partial; id="x"; number=1\r\n\r\nx\r\n')] }))],
  ['uuencoded', Buffer.from(mimeMessage({ text: uuencode('pack.zip', corpus.zipOf({ 'a.bat': 'x' })) }))],
  ['alternative', Buffer.from(mimeMessage({ parts: [multipartPart('alternative', ['Content-Type: text/plain\r\n\r\nx\r\n', attachmentPart({ name: '{0003000-0000-0000-c000-000000000046}.txt', data: 'x' })])] }))],
]

interface Said {
  level: string
  message: string
}

// Every message to the thread, none forced: as Haraka does with another connection open and thread_min_bytes=1.
const ANY: ScanRoute = { minBytes: 1, forceBytes: 0, timeoutMs: 10000 }

function thread(file?: string, inPlaceMs?: number): { thread: ScanThread; said: Said[] } {
  const said: Said[] = []
  return { thread: new ScanThread((level, message) => said.push({ level, message }), file, inPlaceMs), said }
}

/** A worker file of the test's own, in a folder removed after the test. */
function workerFile(t: { after(fn: () => void): void }, source: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scan-worker-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'worker.js')
  fs.writeFileSync(file, source)
  return file
}

/** The real scan, except that a message holding "X-Hang: yes" never finishes, and one holding "X-Slow: yes" takes 1500 ms. */
const HANGING_WORKER = `
const { parentPort } = require('node:worker_threads')
const { scanContent } = require(${JSON.stringify(path.join(__dirname, '..', '..', '..', 'plugins', 'lib', 'content', 'scan.js'))})
let settings
parentPort.on('message', (req) => {
  settings = req.settings ?? settings
  const raw = Buffer.from(req.memory, 0, req.length)
  if (raw.includes('X-Hang: yes')) for (;;) {}
  if (raw.includes('X-Slow: yes')) for (const end = Date.now() + 1500; Date.now() < end;) {}
  parentPort.postMessage({ id: req.id, facts: scanContent(raw, settings) })
})
`

const starts = (said: Said[]): number => said.filter((s) => s.message === 'content scan thread started').length
const warnings = (said: Said[]): string[] => said.filter((s) => s.level === 'warn').map((s) => s.message)

describe('scan thread', () => {
  test('answers what a scan in place answers, message by message and many at once', async () => {
    const { thread: th, said } = thread()
    try {
      for (const [label, raw] of MESSAGES) {
        assert.deepEqual(await th.facts(raw, SETTINGS, ANY), scanContent(raw, SETTINGS), label)
      }
      const all = await Promise.all(MESSAGES.map(([, raw]) => th.facts(raw, SETTINGS, ANY)))
      assert.deepEqual(all, MESSAGES.map(([, raw]) => scanContent(raw, SETTINGS)))
      // New settings reach the thread with the next message.
      const noArchives: ContentSettings = { ...SETTINGS, attachments: { ...SETTINGS.attachments, archives: false } }
      const [, nested] = MESSAGES[2]
      assert.equal((await th.facts(nested, noArchives, ANY)).attachments?.archives.length, 0)
      assert.equal((await th.facts(nested, SETTINGS, ANY)).attachments?.archives.length, 1)
      assert.equal(th.waiting, 0)
      assert.deepEqual(said, [{ level: 'notice', message: 'content scan thread started' }])
    } finally {
      await th.close()
    }
  })

  test('small messages and minBytes 0 are scanned in place: no thread is started', async () => {
    const { thread: th, said } = thread()
    const [, raw] = MESSAGES[2]
    assert.deepEqual(await th.facts(raw, SETTINGS, { ...ANY, minBytes: 0 }), scanContent(raw, SETTINGS))
    assert.deepEqual(await th.facts(raw, SETTINGS, { ...ANY, minBytes: raw.length + 1, forceBytes: raw.length + 1 }), scanContent(raw, SETTINGS))
    assert.deepEqual(said, [])
    await th.close()
  })

  test('a message of forceBytes or more goes to the thread even when minBytes is 0 (no other connection open)', async () => {
    const { thread: th, said } = thread()
    try {
      const [, raw] = MESSAGES[2]
      assert.deepEqual(await th.facts(raw, SETTINGS, { minBytes: 0, forceBytes: raw.length, timeoutMs: 10000 }), scanContent(raw, SETTINGS))
      assert.equal(starts(said), 1)
    } finally {
      await th.close()
    }
  })

  test('a scan in place past its deadline is finished on the thread; with the thread down it gets the timeout limit', async (t) => {
    // A deadline of 0 ms: the first clock read stops the scan in place (after 256 lines of header).
    const raw = Buffer.from(mimeMessage({ headers: Array.from({ length: 400 }, (_, i) => `X-Line-${i}: ${i}`), attachments: [{ name: 'run.exe', data: 'MZ' }] }))
    const { thread: th, said } = thread(undefined, 0)
    try {
      assert.deepEqual(await th.facts(raw, SETTINGS, { ...ANY, minBytes: 0 }), scanContent(raw, SETTINGS))
      assert.equal(starts(said), 1)
    } finally {
      await th.close()
    }
    const broken = thread(workerFile(t, 'throw new Error("broken worker")\n'), 0)
    const facts = await broken.thread.facts(raw, SETTINGS, { ...ANY, minBytes: 0 })
    assert.equal(facts.limit?.name, 'timeout')
    assert.match(facts.limit?.detail ?? '', /^the scan thread is down; a message of \d+ bytes is not scanned in place$/)
    await broken.thread.close()
  })

  test('a thread that cannot start: small messages scanned in place, forced ones get the timeout limit, said once, not retried at once', async (t) => {
    const { thread: th, said } = thread(workerFile(t, 'throw new Error("broken worker")\n'))
    const [, raw] = MESSAGES[1]
    assert.deepEqual(await th.facts(raw, SETTINGS, ANY), scanContent(raw, SETTINGS))
    assert.deepEqual(await th.facts(raw, SETTINGS, ANY), scanContent(raw, SETTINGS))
    const forced = await th.facts(raw, SETTINGS, { ...ANY, forceBytes: raw.length })
    assert.deepEqual(forced, { problems: [], contentTypes: [], limit: { name: 'timeout', detail: `the scan thread is down; a message of ${raw.length} bytes is not scanned in place` } })
    assert.equal(warnings(said).length, 1)
    assert.match(warnings(said)[0], /broken worker; messages are scanned in place, within 30 ms each, for the next 60 s/)
    await th.close()
  })

  test('a thread that dies mid-scan: the messages waiting on it are scanned in place, or get the timeout limit when forced', async (t) => {
    const file = workerFile(t, 'require("node:worker_threads").parentPort.on("message", () => process.exit(3))\n')
    const { thread: th, said } = thread(file)
    const answers = await Promise.all(MESSAGES.map(([, raw]) => th.facts(raw, SETTINGS, ANY)))
    assert.deepEqual(answers, MESSAGES.map(([, raw]) => scanContent(raw, SETTINGS)))
    assert.match(warnings(said)[0], /exited with code 3/)
    assert.equal(th.waiting, 0)
    await th.close()
    const again = thread(file)
    const [, raw] = MESSAGES[2]
    assert.equal((await again.thread.facts(raw, SETTINGS, { ...ANY, forceBytes: 1 })).limit?.name, 'timeout')
    await again.thread.close()
  })

  test('a message waiting behind a slow one is timed from when the thread starts on it', async (t) => {
    const { thread: th, said } = thread(workerFile(t, HANGING_WORKER))
    try {
      const slow = Buffer.from(mimeMessage({ headers: ['X-Slow: yes'], attachments: [{ name: 'run.exe', data: 'MZ' }] }))
      const [, next] = MESSAGES[2]
      // Timed from when it was handed over, the message behind would pass its
      // 1 s while the slow one takes 1.5 s; its own scan takes a few ms, so
      // the second left is room for a loaded machine.
      const first = th.facts(slow, SETTINGS, { ...ANY, timeoutMs: 5000 })
      const behind = th.facts(next, SETTINGS, { ...ANY, timeoutMs: 1000 })
      assert.deepEqual(await first, scanContent(slow, SETTINGS))
      assert.deepEqual(await behind, scanContent(next, SETTINGS))
      assert.deepEqual(warnings(said), [])
    } finally {
      await th.close()
    }
  })

  test('a message the thread does not finish in time gets the timeout limit; a new thread takes the messages behind it and the next ones', async (t) => {
    const { thread: th, said } = thread(workerFile(t, HANGING_WORKER))
    try {
      const hang = Buffer.from(mimeMessage({ headers: ['X-Hang: yes'], attachments: [{ name: 'run.exe', data: 'MZ' }] }))
      const [, first] = MESSAGES[1]
      const [, second] = MESSAGES[2]
      const hung = th.facts(hang, SETTINGS, { ...ANY, timeoutMs: 300 })
      const behind = th.facts(first, SETTINGS, ANY)
      assert.deepEqual(await hung, {
        problems: [], contentTypes: [],
        limit: { name: 'timeout', detail: `the scan thread did not finish a message of ${hang.length} bytes within 300 ms` },
      })
      assert.deepEqual(await behind, scanContent(first, SETTINGS))
      assert.deepEqual(await th.facts(second, SETTINGS, ANY), scanContent(second, SETTINGS))
      // restarted at once, not left down: every message after the timeout still went to a thread
      assert.equal(starts(said), 2)
      assert.deepEqual(warnings(said), [`content scan thread: the scan thread did not finish a message of ${hang.length} bytes within 300 ms; thread restarted`])
      // a second hang, alone: the same answer, and the thread is there again for the next message
      assert.equal((await th.facts(hang, SETTINGS, { ...ANY, timeoutMs: 200 })).limit?.name, 'timeout')
      assert.deepEqual(await th.facts(first, SETTINGS, ANY), scanContent(first, SETTINGS))
      assert.equal(starts(said), 3)
      assert.equal(th.waiting, 0)
    } finally {
      await th.close()
    }
  })
})
