// GE: the recipient has blocked the sender (support-codes.sender_blocks,
// ../lists/sender-blocks.ts).
import { Verdict } from '../codes/render'
import { SenderBlocks } from '../lists/sender-blocks'

export interface SenderBlockFacts {
  /** The recipient, local@domain. */
  rcpt: string
  /** The envelope sender, local@domain; "" for the null sender. */
  sender: string
}

/** GE when this recipient has blocked the sender. */
export function senderBlockCheck(facts: SenderBlockFacts, blocks: SenderBlocks): Verdict | undefined {
  const rule = blocks.match(facts.rcpt, facts.sender)
  if (rule === undefined) return undefined
  return { id: 'GE', vars: { email: facts.sender }, reason: `${facts.sender} blocked for ${facts.rcpt} by "${rule}"` }
}
