// Real mail the bundle was not written for (shared/corpus/legit: ham and
// parser fixtures of SpamAssassin, CPython, mailparser and the Ruby mail
// gem; sources and licenses in its README) goes through the data plugin's
// content checks and every scan limit with the package defaults: none may be
// refused. The end-to-end run of the same corpus through a Haraka node is a
// separate, slower test; this one names the message and the step at once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { ROOT } from '../../rig/haraka'
import { LEGIT_CORPUS as CORPUS, legitAsSent as asSent, legitCorpusPresent, legitManifest as manifest, readLegit } from '../../rig/legit-corpus'
import { dataPhase, parseBannedExtensions } from '../../../plugins/lib/phases/data'
import { PhaseRun } from '../../../plugins/lib/phases/run'
import { readSettings } from '../../../plugins/lib/config/settings'

const present = legitCorpusPresent

test('the legitimate corpus is as published (MANIFEST.tsv sizes and SHA-256)', { skip: present ? false : `no corpus at ${CORPUS}` }, () => {
  const rows = manifest()
  assert.ok(rows.length >= 250, `${rows.length} messages`)
  // readLegit throws, naming the file, when its size or SHA-256 differs.
  for (const row of rows) assert.ok(readLegit(row).length > 0, row.file)
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
