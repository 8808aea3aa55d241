// End to end: every message of the shared legitimate corpus (real mail of
// other projects' test suites: ../shared/corpus/legit) sent through one real
// Haraka node with the four plugins, every content check on (package
// defaults, archives on, clamd off), a DNS that answers NXDOMAIN for every
// sender's domain, a recipient in the directory and a client with a PTR
// record: every one must get 250 after the final dot. A refusal here is a
// false positive of a check: the failure names the file, the reply and the
// bundle's log line for it (check and reason). The content checks alone run
// over the same corpus in process in test/unit/content/legit-corpus.test.ts.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import AdmZip from 'adm-zip'
import { Haraka } from '../rig/haraka'
import { TestDns } from '../rig/dns-server'
import { SmtpClient } from '../rig/smtp-client'
import { mimeMessage } from '../rig/mime-build'
import { waitFor } from '../rig/wait'
import { legitAsSent, legitCorpusPresent, legitManifest, LEGIT_CORPUS, readLegit } from '../rig/legit-corpus'

const skip = legitCorpusPresent ? false : `no corpus at ${LEGIT_CORPUS}`
// Connections at once, each from its own client address and sending its
// share of the corpus one message after another: enough to keep Haraka and
// its scan thread busy on two cores without holding up other tests.
const LANES = 3
const SENDER = 'corpus@sender.example'
const RCPT = 'postmaster@example.com'
const PTR = 'client.legit.example'
const G1A = '550 5.7.0 mime_banned_file - Your message has been rejected because it contains a banned file attachment (G1A)'
const G1B = '550 5.7.0 mime_banned_file - Your message has been rejected because it contains a banned file attachment (G1B)'
// The test queue's reply: "250 queued as <id> (<id>)".
const QUEUED = /^250 queued as ([\w.-]+) \(\1\)$/

let dns: TestDns
let h: Haraka

before(async () => {
  if (skip) return
  // Only the clients' PTR records exist: the senders' and From: domains
  // (and their _dmarc names and DKIM keys) are all NXDOMAIN, so SPF and
  // DMARC are "none" for every message.
  dns = await TestDns.start({ records: { '*.18.198.in-addr.arpa': [{ type: 'PTR', data: PTR }] } })
  h = await Haraka.start({
    dns: dns.address,
    config: {
      'support-codes-data.ini': '[attachments]\narchives=true\n\n[virus]\nclamd=\n',
      'support-codes-rcpt.ini': '[recipients]\ndomains=example.com\n',
      'support-codes.recipients': `${RCPT}\n`,
    },
  })
})
after(async () => {
  if (skip) return
  await h.stop()
  await dns.stop()
})

interface Job { file: string; message: Buffer }
interface Outcome { file: string; line: string }

/** Two messages the node must refuse, sent the same way: the content checks are on, archives too. */
function controls(): Job[] {
  const zip = new AdmZip()
  zip.addFile('readme.txt', Buffer.from('see the tool'))
  zip.addFile('tool.exe', Buffer.from('MZ'))
  return [
    { file: '(control: invoice.exe)', message: Buffer.from(mimeMessage({ attachments: [{ name: 'invoice.exe', data: 'MZ' }] })) },
    { file: '(control: tool.exe in tools.zip)', message: Buffer.from(mimeMessage({ attachments: [{ name: 'tools.zip', type: 'application/zip', data: zip.toBuffer() }] })) },
  ]
}

/** One connection sending its messages in turn; a connection the server closes is opened again. */
async function lane(n: number, next: () => Job | undefined, out: Outcome[]): Promise<void> {
  const proxyFrom = `198.18.16.${n + 1}`
  let client: SmtpClient | undefined
  for (let job = next(); job; job = next()) {
    let line: string
    try {
      if (!client) {
        client = await SmtpClient.connect({ port: h.port, proxyFrom, timeoutMs: 30000 })
        await client.ehlo(PTR)
      }
      const mail = await client.send(`MAIL FROM:<${SENDER}>`)
      const rcpt = mail.code === 250 ? await client.send(`RCPT TO:<${RCPT}>`) : undefined
      const data = rcpt?.code === 250 ? await client.data(job.message) : undefined
      line = (data ?? rcpt ?? mail).lines.join('\n')
      if (!data) await client.send('RSET')
    } catch (err) {
      line = `(${(err as Error).message})`
      client?.close()
      client = undefined
    }
    out.push({ file: job.file, line })
  }
  await client?.quit()
  client?.close()
}

describe('the legitimate corpus through a Haraka node', { skip }, () => {
  test('every message is accepted: 250 after the final dot, queued, no crash', async () => {
    // Read (and checked against MANIFEST.tsv) before the first is sent.
    const corpus = legitManifest().map((row) => ({ file: row.file, message: legitAsSent(readLegit(row)) }))
    assert.ok(corpus.length >= 250, `${corpus.length} messages`)
    const jobs = [...controls(), ...corpus]
    let i = 0
    const next = (): Job | undefined => jobs[i++]
    const outcomes: Outcome[] = []
    await Promise.all(Array.from({ length: LANES }, (_, n) => lane(n, next, outcomes)))
    assert.equal(outcomes.length, jobs.length)
    const [exe, zipped] = controls().map((c) => outcomes.find((o) => o.file === c.file)?.line)
    assert.equal(exe, G1B)
    assert.equal(zipped, G1A)
    const refused = outcomes.filter((o) => !o.file.startsWith('(control') && !QUEUED.test(o.line))
    if (refused.length) {
      const sent = h.log.split('\n').filter((l) => /\[support-codes\/\w+\] .*sent "/.test(l))
      assert.fail(`refused:\n${refused.map((o) => `${o.file}: ${o.line}`).join('\n')}\nthe bundle's refusals in the log:\n${sent.join('\n')}`)
    }
    assert.equal(h.queued().length, corpus.length)
    assert.equal(h.running, true)
    assert.doesNotMatch(h.log, /\[(CRIT|ALERT|EMERG)\]/)
    // The large ones (past [scan] in_place_max_bytes) were read on the scan thread, and none overran it.
    assert.match(h.log, /content scan thread started/)
    assert.doesNotMatch(h.log, /content scan thread: /)
    // Each was judged, not waved through: the data plugin logged SPF and
    // DMARC "none" for its transaction (the id in the queue's reply).
    const judged = (o: Outcome): boolean => {
      const id = QUEUED.exec(o.line)?.[1] ?? ''
      return h.log.includes(`[${id}] [support-codes/data] spf: none, spf_source: mailauth, dmarc: none, `)
    }
    const accepted = outcomes.filter((o) => QUEUED.test(o.line))
    await waitFor('the data plugin\'s result line of every accepted message', () => accepted.every(judged)).catch(() => {
      assert.fail(`no "spf: none ... dmarc: none" line for ${accepted.filter((o) => !judged(o)).map((o) => o.file).join(', ')}`)
    })
  })
})
