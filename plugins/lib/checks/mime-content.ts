// G19 and G18: dangerous MIME structure.
import { Verdict } from '../codes/render'

/** G19: a message/partial part anywhere (RFC 2046 5.2.2): fragments reassembled by the client can carry what no scan saw whole. */
export function partialCheck(facts: { contentTypes: readonly string[] }): Verdict | undefined {
  if (!facts.contentTypes.includes('message/partial')) return undefined
  return { id: 'G19', reason: 'message/partial part' }
}

// The classic Exim system filter rule: a name= in the message's own
// Content-Type ending in one of these extensions.
const EXIM_EXECUTABLE = /\.(?:ad[ep]|ba[st]|chm|cmd|com|cpl|crt|eml|exe|hlp|hta|in[fs]|isp|jse?|lnk|md[be]|ms[cipt]|pcd|pif|reg|scr|sct|shs|url|vb[se]|ws[fhc])$/i

/** G18: the message itself (its top-level Content-Type) names an executable file: a single-part message that is a program. */
export function contentTypeCheck(facts: { topLevelName: string | undefined }): Verdict | undefined {
  const name = facts.topLevelName
  if (!name || !EXIM_EXECUTABLE.test(name)) return undefined
  return { id: 'G18', reason: `top-level Content-Type name="${name}"` }
}
