// One hostile SMTP session with the probe running (probe.ts): EHLO, then
// the probe starts, then MAIL, RCPT and the message, sent as ready-made
// bytes (hostile-gen.ts dataPayload) so that the test's own thread does no
// large work while the node is being timed. The probe stops when the last
// reply has arrived.
import { Zone } from './dns-server'
import { Haraka } from './haraka'
import { startProbe, ProbeResult } from './probe'
import { Reply, SmtpClient } from './smtp-client'
import { dataPayload } from './hostile-gen'

export interface HostileSession {
  ip: string
  from: string
  to?: string
  /** The message as Haraka keeps it (CRLF, no final dot); none: the session ends after RCPT. */
  message?: Buffer
  /** For a reply that takes long on purpose (slow DNS); the default is generous so a frozen node gives its real answer. */
  timeoutMs?: number
  /** The sender's pace in bytes per millisecond (default 16 KB/ms, 128 Mbit/s). */
  bytesPerMs?: number
  /** Called after DATA's 354, just before the message is sent (to mark where its DNS queries begin). */
  beforeMessage?: () => void
}

export interface HostileResult {
  ehlo: Reply
  mail: Reply
  rcpt?: Reply
  /** The reply to the final dot. */
  data?: Reply
  /** The reply the session ended on: DATA's, else RCPT's, else MAIL's first line. */
  last: string
  /** Milliseconds from the first byte of the message to the reply to its final dot. */
  dataMs?: number
  probe: ProbeResult
}

/**
 * What every hostile-input node's DNS answers: PTRs for the test clients
 * (198.18/16) and the probe (198.19/16), the RFC 5782 test entries of both
 * default DNS lists (so that their self-test passes), and sender.example.
 */
export const HOSTILE_BASE_ZONE: Zone = {
  '*.18.198.in-addr.arpa': [{ type: 'PTR', data: 'client.test' }],
  '*.19.198.in-addr.arpa': [{ type: 'PTR', data: 'probe.test' }],
  '2.0.0.127.bl.score.senderscore.com': [{ type: 'A', data: '127.0.0.2' }],
  '2.0.0.127.xbl.spamhaus.org': [{ type: 'A', data: '127.0.0.4' }],
  'sender.example': [{ type: 'MX', data: { preference: 10, exchange: 'mx.sender.example' } }],
  'mx.sender.example': [{ type: 'A', data: '192.0.2.10' }],
}

const DEFAULT_TIMEOUT_MS = 120000
const WRITE_BYTES = 64 * 1024
// The message goes out at a fast sender's pace (128 Mbit/s), not at
// loopback speed: unpaced, the node spends every cycle of the 2 cores on
// reading it, and the probe measures that saturation (Haraka alone then
// greets in 170-280 ms) instead of whether anything holds the event loop.
const BYTES_PER_MS = 16 * 1024

/** The slower pace for a message of a few million short lines (see content.test.ts). */
export const SHORT_LINES_BYTES_PER_MS = 3 * 1024

export async function hostileSession(node: Haraka, s: HostileSession): Promise<HostileResult> {
  const payload = s.message ? dataPayload(s.message) : undefined
  const client = await SmtpClient.connect({ port: node.port, proxyFrom: s.ip, timeoutMs: s.timeoutMs ?? DEFAULT_TIMEOUT_MS })
  try {
    const ehlo = await client.ehlo('client.test')
    const probe = await startProbe({ port: node.port })
    let mail: Reply | undefined
    let rcpt: Reply | undefined
    let data: Reply | undefined
    let dataMs: number | undefined
    let probed: ProbeResult
    try {
      mail = await client.send(`MAIL FROM:<${s.from}>`)
      if (mail.code === 250) rcpt = await client.send(`RCPT TO:<${s.to ?? 'bob@example.com'}>`)
      if (rcpt?.code === 250 && payload) {
        const go = await client.send('DATA')
        if (go.code !== 354) {
          data = go
        } else {
          s.beforeMessage?.()
          const t0 = performance.now()
          // In pieces: sendRaw names what it sent from the bytes, and a 25 MB copy would hold this thread
          for (let i = 0; i < payload.length; i += WRITE_BYTES) {
            client.sendRaw(payload.subarray(i, i + WRITE_BYTES))
            const ahead = t0 + (i + WRITE_BYTES) / (s.bytesPerMs ?? BYTES_PER_MS) - performance.now()
            if (ahead > 1) await new Promise((resolve) => setTimeout(resolve, ahead))
          }
          data = await client.readReply()
          dataMs = Math.round(performance.now() - t0)
        }
      }
    } finally {
      probed = await probe.stop()
    }
    const last = (data ?? rcpt ?? mail).lines[0]
    await client.quit()
    return { ehlo, mail, rcpt, data, last, dataMs, probe: probed }
  } finally {
    client.close()
  }
}

/** The probe's report in a line, for assertion messages and the test log. */
export function describeProbe(p: ProbeResult): string {
  return `probe: ${p.count} connection(s), worst greeting ${p.worstMs} ms (opened at ${p.worstAtMs} ms), median ${p.medianMs} ms${p.failures.length ? `, failures: ${p.failures.slice(0, 3).join('; ')}` : ''}`
}
