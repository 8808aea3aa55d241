// explain's answer for people: each stage, each check with what it saw and
// decided, then the line the server would send or that it would accept.
import { Explanation } from './explain'

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text + ' '.repeat(width - text.length)
}

export function explanationText(e: Explanation): string {
  const out: string[] = []
  for (const n of e.notes) out.push(`note: ${n}`)
  if (e.skip) out.push(`every check is skipped for this client (${e.skip})`)
  for (const st of e.stages) {
    out.push(st.rcpt ? `${st.name}:<${st.rcpt}>` : st.name)
    if (!st.steps.length) out.push('  (no check runs here with these settings)')
    for (const s of st.steps) {
      const decision = !s.verdict ? 'pass' : s.held ? 'held' : s.monitor ? 'monitor' : 'REFUSE'
      out.push(`  ${pad(s.label, 18)}${pad(decision, 8)}${s.saw}`)
      if (s.verdict?.reason && s.verdict.reason !== s.saw) out.push(`  ${' '.repeat(26)}why: ${s.verdict.reason}`)
      if (s.line) out.push(`  ${' '.repeat(26)}${s.held ? 'sent after DATA' : s.monitor ? 'would send (monitor mode, accepted)' : 'sends'}: ${s.line}`)
    }
    for (const w of st.warnings) out.push(`  warning: ${w}`)
  }
  out.push('')
  if ('refused' in e.outcome) out.push(`result: refused at ${e.outcome.stage}: ${e.outcome.refused}`)
  else out.push(`result: accepted for ${e.outcome.accepted.join(', ')}`)
  const refusedRcpts = e.stages.filter((s) => s.name === 'RCPT TO' && s.line)
  if ('accepted' in e.outcome) for (const s of refusedRcpts) out.push(`        refused for ${s.rcpt ?? ''}: ${s.line ?? ''}`)
  return out.join('\n') + '\n'
}
