// Real mail the bundle was not written for (shared/corpus/legit: ham and
// parser fixtures of SpamAssassin, CPython, mailparser and the Ruby mail
// gem; sources and licenses in its README) goes through the data plugin's
// content checks and every scan limit with the package defaults: none may be
// refused. The end-to-end run of the same corpus through a Haraka node is a
// separate, slower test; this one names the message and the step at once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { ROOT } from '../../rig/haraka'
import { dataPhase, parseBannedExtensions } from '../../../plugins/lib/phases/data'
import { PhaseRun } from '../../../plugins/lib/phases/run'
import { readSettings } from '../../../plugins/lib/config/settings'

const CORPUS = path.join(ROOT, '..', 'shared', 'corpus', 'legit')

interface Row { file: string; bytes: number; sha256: string }

function manifest(): Row[] {
  const [head, ...lines] = fs.readFileSync(path.join(CORPUS, 'MANIFEST.tsv'), 'utf8').trim().split('\n')
  const cols = head.split('\t')
  return lines.map((line) => {
    const v = line.split('\t')
    return { file: v[cols.indexOf('file')], bytes: Number(v[cols.indexOf('bytes')]), sha256: v[cols.indexOf('sha256')] }
  })
}

/** The message as it goes over SMTP: without a leading mbox "From " line, every line ending in CRLF. */
function asSent(file: Buffer): Buffer {
  let text = file.toString('latin1')
  if (text.startsWith('From ')) text = text.slice(text.indexOf('\n') + 1)
  return Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1')
}

const present = fs.existsSync(path.join(CORPUS, 'MANIFEST.tsv'))

test('the legitimate corpus is as published (MANIFEST.tsv sizes and SHA-256)', { skip: present ? false : `no corpus at ${CORPUS}` }, () => {
  const rows = manifest()
  assert.ok(rows.length >= 250, `${rows.length} messages`)
  for (const row of rows) {
    const data = fs.readFileSync(path.join(CORPUS, row.file))
    assert.equal(data.length, row.bytes, row.file)
    assert.equal(crypto.createHash('sha256').update(data).digest('hex'), row.sha256, row.file)
  }
})

test('no legitimate message is refused by the content checks or a scan limit', { skip: present ? false : `no corpus at ${CORPUS}` }, async () => {
  const { settings: own } = readSettings('support-codes-data.ini', { spf: { reject_fail: false }, dmarc: { reject: false, temperror: 'accept' } })
  const banned = parseBannedExtensions(fs.readFileSync(path.join(ROOT, 'config', 'support-codes.banned_extensions'), 'utf8').split('\n'), () => undefined)
  const judge = async (raw: Buffer): Promise<PhaseRun> => {
    const run = new PhaseRun(() => false)
    await dataPhase(run, own, {
      received: [],
      self: ['mx.example.com'],
      raw: async () => raw,
      banned,
      authenticate: () => Promise.reject(new Error('authentication is off in this test')),
    })
    return run
  }
  // The harness refuses what it should: one corpus message with a program attached.
  const control = asSent(Buffer.from([
    'From: a@sender.example', 'To: b@example.com', 'Subject: control', 'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"', '', '--b', 'Content-Type: text/plain', '', 'hi', '--b',
    'Content-Type: application/octet-stream; name="invoice.exe"', 'Content-Transfer-Encoding: base64', '', 'TVqQAAMAAAAEAAAA', '--b--', '',
  ].join('\n')))
  assert.equal((await judge(control)).stop?.verdict?.id, 'G1B')
  const refused: string[] = []
  for (const row of manifest()) {
    const run = await judge(asSent(fs.readFileSync(path.join(CORPUS, row.file))))
    if (run.stop) refused.push(`${row.file}: ${run.stop.check} ${run.stop.verdict?.id} (${run.stop.verdict?.reason ?? run.stop.saw})`)
  }
  assert.deepEqual(refused, [])
})
