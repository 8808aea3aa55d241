// The server's side of a dialogue: bytes into whole SMTP replies, a reply
// into the text an answer carries, and what a reply to RCPT TO means.
import { StringDecoder } from 'node:string_decoder'
import { CalloutAnswer } from './answer'

// RFC 5321 4.5.3.1.5 allows 512 octets a reply line; be generous, not endless.
const MAX_LINE = 2048
const MAX_LINES = 100
const MAX_REPLY_TEXT = 512

/** Control characters: kept out of reply texts, and out of the command lines we send. */
// eslint-disable-next-line no-control-regex
export const CONTROLS = /[\x00-\x1f\x7f]/g

export interface Reply { code: number; text: string; lines: string[] }

/** The reply as one line of printable text, cut at MAX_REPLY_TEXT. */
export function replyText(r: Reply): string {
  const text = `${r.code} ${r.lines.join(' ')}`.replace(CONTROLS, '').trim()
  return text.length > MAX_REPLY_TEXT ? `${text.slice(0, MAX_REPLY_TEXT)}...` : text
}

/**
 * The meaning of a reply to RCPT TO. RFC 5321 4.2.3: 550 mailbox unavailable,
 * 551 user not local, 553 mailbox name not allowed; RFC 3463 3.2: X.1.x is
 * an addressing status. An enhanced code other than 5.1.x (5.7.1 policy, say)
 * turns a 550 into a refusal. RFC 2034 4: the enhanced code must agree with
 * the reply code, so a 5xx with a 2.x.x or 4.x.x one is read as if it had none.
 */
export function classifyRcpt(code: number, text: string): CalloutAnswer['result'] {
  if (code >= 200 && code < 300) return 'valid'
  if (code < 500 || code > 599) return 'tempfail'
  const enhanced = /^([245])\.(\d{1,3})\.(\d{1,3})(?:\s|$)/.exec(text)
  if (enhanced && enhanced[1] === '5') return enhanced[2] === '1' ? 'unknown' : 'refused'
  return code === 550 || code === 551 || code === 553 ? 'unknown' : 'refused'
}

/** Turns received bytes into whole replies (RFC 5321 4.2: "xyz-" lines continue, "xyz " or "xyz" ends). */
export class ReplyParser {
  private readonly decoder = new StringDecoder('utf8')
  private buffer = ''
  private lines: string[] = []
  private code = 0

  /** Whole replies in the chunk, or an error text for a reply that is not SMTP. */
  push(chunk: Buffer): Reply[] | string {
    this.buffer += this.decoder.write(chunk)
    const out: Reply[] = []
    let nl: number
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '')
      this.buffer = this.buffer.slice(nl + 1)
      const m = /^([1-5]\d\d)(?:([ -])(.*))?$/.exec(line)
      if (!m) return `not an SMTP reply: ${JSON.stringify(line.slice(0, 80))}`
      const code = Number(m[1])
      if (this.lines.length && code !== this.code) return `reply code changed within a reply (${this.code}, ${code})`
      this.code = code
      this.lines.push(m[3] ?? '')
      if (this.lines.length > MAX_LINES) return 'reply too long'
      if (m[2] !== '-') {
        out.push({ code, text: this.lines[0], lines: this.lines })
        this.lines = []
      }
    }
    if (this.buffer.length > MAX_LINE) return 'reply line too long'
    return out
  }
}
