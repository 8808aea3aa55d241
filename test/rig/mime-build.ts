// Builds MIME messages for the tests: attachments with names written in
// every way mailers write them (plain, quoted, RFC 2231, RFC 2047), nested
// multiparts, forwarded messages, uuencode.
let counter = 0

export interface Attachment {
  /** Raw header parameter text after "name=" / "filename=", or a full parameter list with `params`. */
  name?: string
  /** Content-Type of the part; default application/octet-stream. */
  type?: string
  /** Extra Content-Type parameters, written as given: `; name*0*=...`. */
  typeParams?: string
  /** Content-Disposition line value, written as given; default attachment with filename=<name>. */
  disposition?: string
  data: Buffer | string
  /** base64 (default), 7bit, quoted-printable. */
  encoding?: 'base64' | '7bit' | 'quoted-printable'
}

function base64Lines(data: Buffer): string {
  return (data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')
}

function quote(name: string): string {
  return /^[A-Za-z0-9._-]+$/.test(name) ? name : `"${name.replace(/(["\\])/g, '\\$1')}"`
}

export function attachmentPart(a: Attachment): string {
  const data = Buffer.isBuffer(a.data) ? a.data : Buffer.from(a.data)
  const enc = a.encoding ?? 'base64'
  const type = a.type ?? 'application/octet-stream'
  const nameParam = a.name !== undefined ? `; name=${quote(a.name)}` : ''
  const disp = a.disposition ?? (a.name !== undefined ? `attachment; filename=${quote(a.name)}` : 'attachment')
  const body = enc === 'base64' ? base64Lines(data) : data.toString('latin1')
  return `Content-Type: ${type}${nameParam}${a.typeParams ?? ''}\r\nContent-Disposition: ${disp}\r\nContent-Transfer-Encoding: ${enc}\r\n\r\n${body}\r\n`
}

export interface MessageOptions {
  from?: string
  to?: string
  subject?: string
  headers?: string[]
  text?: string
  attachments?: Attachment[]
  /** Raw MIME parts, each with its own headers, put in as they are. */
  parts?: string[]
}

/** A multipart/mixed message (or a plain text one when there is nothing to attach). */
export function mimeMessage(o: MessageOptions = {}): string {
  counter++
  const head = [
    `From: ${o.from ?? 'alice@sender.example'}`,
    `To: ${o.to ?? 'bob@example.com'}`,
    `Subject: ${o.subject ?? 'test'}`,
    'Date: Sat, 28 Nov 2026 12:00:00 +0000',
    `Message-ID: <m${counter}.${Date.now()}@sender.example>`,
    'MIME-Version: 1.0',
    ...(o.headers ?? []),
  ]
  const parts = [...(o.attachments ?? []).map(attachmentPart), ...(o.parts ?? [])]
  if (!parts.length) {
    return `${head.join('\r\n')}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${o.text ?? 'Hello.'}\r\n`
  }
  const b = `b${counter}-${Math.random().toString(36).slice(2)}`
  const text = `Content-Type: text/plain; charset=utf-8\r\n\r\n${o.text ?? 'See attached.'}\r\n`
  return `${head.join('\r\n')}\r\nContent-Type: multipart/mixed; boundary="${b}"\r\n\r\nThis is a MIME message.\r\n` +
    [text, ...parts].map((p) => `--${b}\r\n${p}`).join('') + `--${b}--\r\n`
}

/** A part holding other parts (multipart/alternative, /related, ...). */
export function multipartPart(subtype: string, parts: string[]): string {
  const b = `n${++counter}-${Math.random().toString(36).slice(2)}`
  return `Content-Type: multipart/${subtype}; boundary="${b}"\r\n\r\n` + parts.map((p) => `--${b}\r\n${p}`).join('') + `--${b}--\r\n`
}

/** A forwarded message as a message/rfc822 part. */
export function rfc822Part(message: string): string {
  return `Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n${message}`
}

/** uuencode (the classic "begin 644 name" block) of data. */
export function uuencode(name: string, data: Buffer): string {
  const enc = (n: number): string => String.fromCharCode(n === 0 ? 96 : n + 32)
  const lines = [`begin 644 ${name}`]
  for (let i = 0; i < data.length; i += 45) {
    const chunk = data.subarray(i, i + 45)
    let line = enc(chunk.length)
    for (let j = 0; j < chunk.length; j += 3) {
      const b0 = chunk[j], b1 = chunk[j + 1] ?? 0, b2 = chunk[j + 2] ?? 0
      line += enc(b0 >> 2) + enc(((b0 & 3) << 4) | (b1 >> 4)) + enc(((b1 & 15) << 2) | (b2 >> 6)) + enc(b2 & 63)
    }
    lines.push(line)
  }
  lines.push('`', 'end')
  return lines.join('\r\n')
}
