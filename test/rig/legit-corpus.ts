// The shared corpus of legitimate mail (../shared/corpus/legit, next to the
// project; sources and licenses in its README): its MANIFEST, and each
// message as it goes over SMTP by the README's rules.
import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { ROOT } from './haraka'

export const LEGIT_CORPUS = path.join(ROOT, '..', 'shared', 'corpus', 'legit')

/** False where the corpus is not checked out beside the project: its tests skip. */
export const legitCorpusPresent = fs.existsSync(path.join(LEGIT_CORPUS, 'MANIFEST.tsv'))

export interface LegitRow { file: string; bytes: number; sha256: string }

/** MANIFEST.tsv: one row a message, columns found by their header names. */
export function legitManifest(): LegitRow[] {
  const [head, ...lines] = fs.readFileSync(path.join(LEGIT_CORPUS, 'MANIFEST.tsv'), 'utf8').trim().split('\n')
  const cols = head.split('\t')
  const at = (name: string): number => {
    const i = cols.indexOf(name)
    if (i < 0) throw new Error(`MANIFEST.tsv has no ${name} column`)
    return i
  }
  const [file, bytes, sha256] = [at('file'), at('bytes'), at('sha256')]
  return lines.map((line) => {
    const v = line.split('\t')
    return { file: v[file], bytes: Number(v[bytes]), sha256: v[sha256] }
  })
}

/** The file's bytes, or an error naming how they differ from the MANIFEST. */
export function readLegit(row: LegitRow): Buffer {
  const data = fs.readFileSync(path.join(LEGIT_CORPUS, row.file))
  const sha = crypto.createHash('sha256').update(data).digest('hex')
  if (data.length !== row.bytes || sha !== row.sha256) {
    throw new Error(`${row.file}: ${data.length} bytes, SHA-256 ${sha}; MANIFEST.tsv says ${row.bytes} bytes, ${row.sha256}`)
  }
  return data
}

/**
 * The message as the README says to send it: without a leading mbox "From "
 * line, every line ending in CRLF. Dot-stuffing and the final CRLF before
 * the dot are the SMTP client's (encodeBody). A bare CR would be turned into
 * a line end by it, changing the message: none may be in the corpus.
 */
export function legitAsSent(file: Buffer): Buffer {
  let text = file.toString('latin1')
  if (text.startsWith('From ')) text = text.slice(text.indexOf('\n') + 1)
  if (/\r(?!\n)/.test(text)) throw new Error('a bare CR: the SMTP client would change it')
  return Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1')
}
