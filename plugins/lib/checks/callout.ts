// G6, G7, G8/G9: what the recipient domain's own server said about the
// address at RCPT TO (see ../callout/ for how answers are classified).
import { CalloutAnswer } from '../callout/callout'
import { Verdict } from '../codes/render'

// The cache is I/O, kept apart; exported here beside the check it feeds.
export { cachedCallout, calloutKey } from '../callout/cache'

export interface CalloutFacts {
  rcpt: string
  /** Undefined when no callout was made (off, no server to call). */
  answer: CalloutAnswer | undefined
}

export function calloutCheck(facts: CalloutFacts): Verdict | undefined {
  const { rcpt, answer } = facts
  if (!answer) return undefined
  const vars = { email: rcpt }
  switch (answer.result) {
    case 'valid':
      return undefined
    case 'tempfail':
      return { id: 'G6', vars, reason: `callout inconclusive: ${answer.reply}` }
    case 'unknown':
      return { id: 'G8/G9', vars, reason: `callout: user unknown: ${answer.reply}` }
    case 'refused':
      return { id: 'G7', vars, reason: `callout refused: ${answer.reply}` }
  }
}
