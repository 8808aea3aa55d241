// One SMTP dialogue with one server: connect, greeting (220), EHLO (HELO on
// 5xx), MAIL FROM, RCPT TO, then QUIT. No mail is sent; the dialogue stops
// at the RCPT TO answer, and never runs past its deadline.
import * as net from 'node:net'
import { CalloutAnswer, tempfail } from './answer'
import { atDeadline } from './deadline'
import { classifyRcpt, Reply, ReplyParser, replyText } from './reply'
import { CalloutTarget, targetName } from './targets'

// How long QUIT's 221 may take before the socket is destroyed anyway.
const QUIT_GRACE_MS = 1000

export interface Attempt {
  answer: CalloutAnswer
  /** Failed before the server said 220: the next target may be tried. */
  connectFailure: boolean
  /** The server could not be reached, did not answer in time, dropped the connection or sent no SMTP: no reply of its own. */
  unreachable?: boolean
}

/** What goes on the command lines, free of control characters already. */
export interface DialogueLines { helo: string; sender: string; rcpt: string }

type Stage = 'connect' | 'greeting' | 'ehlo' | 'helo' | 'mail' | 'rcpt' | 'quit'

const WAITING_FOR: Record<Stage, string> = {
  connect: 'connection',
  greeting: 'greeting',
  ehlo: 'EHLO reply',
  helo: 'HELO reply',
  mail: 'MAIL FROM reply',
  rcpt: 'RCPT TO reply',
  quit: 'QUIT reply',
}

/**
 * One dialogue. Resolves with the answer as soon as RCPT TO is answered (or
 * anything fails); `closed` runs once the socket is gone, which may be a
 * little later while QUIT is exchanged.
 */
export function dialogue(target: CalloutTarget, lines: DialogueLines, deadline: number, closed: () => void): Promise<Attempt> {
  return new Promise((resolve) => {
    const name = targetName(target)
    let stage: Stage = 'connect'
    let settled = false
    let timer: NodeJS.Timeout | undefined
    let gone = false
    const parser = new ReplyParser()

    const finish = (): void => {
      if (gone) return
      gone = true
      clearTimeout(timer)
      closed()
    }
    const settle = (answer: CalloutAnswer, unreachable = false): void => {
      if (settled) return
      settled = true
      const connectFailure = answer.result === 'tempfail' && (stage === 'connect' || stage === 'greeting')
      resolve(unreachable ? { answer, connectFailure, unreachable } : { answer, connectFailure })
    }
    const fail = (why: string): void => {
      settle(tempfail(`${name}: ${why}`), true)
      socket?.destroy()
    }

    let socket: net.Socket | undefined
    try {
      socket = net.connect({ host: target.host, port: target.port })
    } catch (err) {
      fail(`cannot connect (${(err as Error).message})`)
      finish()
      return
    }
    const sock = socket
    sock.setNoDelay(true)

    const send = (line: string, next: Stage): void => {
      stage = next
      sock.write(`${line}\r\n`)
    }
    // RFC 5321 4.1.1.10: QUIT ends the session politely. The answer is out
    // already; the 221 is awaited only briefly, never past the deadline.
    const quit = (): void => {
      send('QUIT', 'quit')
      clearTimeout(timer)
      timer = atDeadline(deadline, () => sock.destroy(), QUIT_GRACE_MS)
    }
    const stop = (answer: CalloutAnswer): void => {
      settle(answer)
      quit()
    }

    const onReply = (r: Reply): void => {
      const text = replyText(r)
      switch (stage) {
        case 'greeting':
          // RFC 5321 4.3.2: 220 or 554 at connection opening.
          if (r.code === 220) send(`EHLO ${lines.helo}`, 'ehlo')
          else stop(tempfail(`${name}: greeting ${text}`, r.code))
          return
        case 'ehlo':
          // RFC 5321 3.2: a server that does not know EHLO answers 5xx; HELO then.
          if (r.code >= 200 && r.code < 300) send(`MAIL FROM:<${lines.sender}>`, 'mail')
          else if (r.code >= 500) send(`HELO ${lines.helo}`, 'helo')
          else stop(tempfail(`${name}: EHLO ${text}`, r.code))
          return
        case 'helo':
          if (r.code >= 200 && r.code < 300) send(`MAIL FROM:<${lines.sender}>`, 'mail')
          else stop(tempfail(`${name}: HELO ${text}`, r.code))
          return
        case 'mail':
          // A 5xx here refuses our reverse-path or our host, not the
          // recipient: it says nothing about the address, so tempfail.
          if (r.code >= 200 && r.code < 300) send(`RCPT TO:<${lines.rcpt}>`, 'rcpt')
          else stop(tempfail(`${name}: MAIL FROM ${text}`, r.code))
          return
        case 'rcpt': {
          const result = classifyRcpt(r.code, r.text)
          stop(result === 'tempfail' ? tempfail(text, r.code) : { result, code: r.code, reply: text })
          return
        }
        case 'quit':
        case 'connect':
          sock.destroy()
          return
      }
    }

    timer = atDeadline(deadline, () => fail(`no ${WAITING_FOR[stage]} in time`))
    sock.on('connect', () => {
      stage = 'greeting'
    })
    sock.on('data', (chunk: Buffer) => {
      const replies = parser.push(chunk)
      if (typeof replies === 'string') {
        if (stage === 'quit') sock.destroy()
        else fail(`${replies} (${WAITING_FOR[stage]})`)
        return
      }
      for (const r of replies) {
        if (sock.destroyed) return
        onReply(r)
      }
    })
    sock.on('error', (err: NodeJS.ErrnoException) => fail(`${err.code ?? err.message} (${WAITING_FOR[stage]})`))
    sock.on('close', () => {
      if (!settled) fail(`connection closed (${WAITING_FOR[stage]})`)
      finish()
    })
  })
}
