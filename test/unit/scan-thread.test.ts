// The scan thread: the same facts as a scan in place, and a defined outcome
// when the thread cannot start, dies or hangs (real worker threads, real
// worker files that misbehave).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { ContentSettings, scanContent } from '../../plugins/lib/content-scan'
import { ScanThread } from '../../plugins/lib/scan-thread'
import { SCHEMA } from '../../plugins/lib/settings-schema'
import { attachmentPart, mimeMessage, multipartPart, rfc822Part, uuencode } from '../rig/mime-build'
import * as corpus from '../rig/zip-corpus'

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

function thread(file?: string): { thread: ScanThread; said: Said[] } {
  const said: Said[] = []
  return { thread: new ScanThread((level, message) => said.push({ level, message }), file), said }
}

/** A worker file of the test's own, in a folder removed after the test. */
function workerFile(t: { after(fn: () => void): void }, source: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scan-worker-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'worker.js')
  fs.writeFileSync(file, source)
  return file
}

describe('scan thread', () => {
  test('answers what a scan in place answers, message by message and many at once', async () => {
    const { thread: th, said } = thread()
    try {
      for (const [label, raw] of MESSAGES) {
        assert.deepEqual(await th.facts(raw, SETTINGS, 1, 10000), scanContent(raw, SETTINGS), label)
      }
      const all = await Promise.all(MESSAGES.map(([, raw]) => th.facts(raw, SETTINGS, 1, 10000)))
      assert.deepEqual(all, MESSAGES.map(([, raw]) => scanContent(raw, SETTINGS)))
      // New settings reach the thread with the next message.
      const noArchives: ContentSettings = { ...SETTINGS, attachments: { ...SETTINGS.attachments, archives: false } }
      const [, nested] = MESSAGES[2]
      assert.equal((await th.facts(nested, noArchives, 1, 10000)).attachments?.archives.length, 0)
      assert.equal((await th.facts(nested, SETTINGS, 1, 10000)).attachments?.archives.length, 1)
      assert.equal(th.waiting, 0)
      assert.deepEqual(said, [{ level: 'notice', message: 'content scan thread started' }])
    } finally {
      await th.close()
    }
  })

  test('small messages and minBytes 0 are scanned in place: no thread is started', async () => {
    const { thread: th, said } = thread()
    const [, raw] = MESSAGES[2]
    assert.deepEqual(await th.facts(raw, SETTINGS, 0, 10000), scanContent(raw, SETTINGS))
    assert.deepEqual(await th.facts(raw, SETTINGS, raw.length + 1, 10000), scanContent(raw, SETTINGS))
    assert.deepEqual(said, [])
    await th.close()
  })

  test('a thread that cannot start: scanned in place, said once, not retried at once', async (t) => {
    const { thread: th, said } = thread(workerFile(t, 'throw new Error("broken worker")\n'))
    const [, raw] = MESSAGES[1]
    assert.deepEqual(await th.facts(raw, SETTINGS, 1, 10000), scanContent(raw, SETTINGS))
    assert.deepEqual(await th.facts(raw, SETTINGS, 1, 10000), scanContent(raw, SETTINGS))
    const warnings = said.filter((s) => s.level === 'warn')
    assert.equal(warnings.length, 1)
    assert.match(warnings[0].message, /broken worker; messages are scanned in place for the next 60 s/)
    await th.close()
  })

  test('a thread that dies mid-scan: every message waiting on it is scanned in place', async (t) => {
    const file = workerFile(t, 'require("node:worker_threads").parentPort.on("message", () => process.exit(3))\n')
    const { thread: th, said } = thread(file)
    const answers = await Promise.all(MESSAGES.map(([, raw]) => th.facts(raw, SETTINGS, 1, 10000)))
    assert.deepEqual(answers, MESSAGES.map(([, raw]) => scanContent(raw, SETTINGS)))
    assert.match(said.filter((s) => s.level === 'warn')[0].message, /exited with code 3/)
    assert.equal(th.waiting, 0)
    await th.close()
  })

  test('a thread that hangs: that message fails (the hook lets it through, logged), the rest are scanned in place', async (t) => {
    const file = workerFile(t, 'require("node:worker_threads").parentPort.on("message", () => { for (;;) {} })\n')
    const { thread: th, said } = thread(file)
    const [, first] = MESSAGES[1]
    const [, second] = MESSAGES[2]
    const hung = th.facts(first, SETTINGS, 1, 300)
    const behind = th.facts(second, SETTINGS, 1, 60000)
    await assert.rejects(hung, /did not finish a message within 300 ms/)
    assert.deepEqual(await behind, scanContent(second, SETTINGS))
    assert.equal(said.filter((s) => s.level === 'warn').length, 1)
    assert.equal(th.waiting, 0)
    await th.close()
  })
})
