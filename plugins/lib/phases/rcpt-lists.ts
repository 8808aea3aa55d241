// What the rcpt checks read from their settings and list files: DNS list
// zones, the recipient directory, sender blocks, the MX blocklist and the
// callout routes. Problems are named through report(), once per process.
import { CalloutTarget, parseRoutes } from '../callout/callout'
import { ZoneConfig, zoneConfigs } from '../lists/dnsbl'
import { MxBlocklist } from '../lists/mx-blocklist'
import { Directory } from '../lists/recipients'
import { SenderBlocks } from '../lists/sender-blocks'
import { SettingsOf } from '../config/schema'

export type RcptSettings = SettingsOf<'support-codes-rcpt.ini'>
const FILE = 'support-codes-rcpt.ini'

export interface RcptLists {
  zones: ZoneConfig[]
  directory: Directory
  blocks: SenderBlocks
  mxList: MxBlocklist
  routes: Map<string, CalloutTarget>
  /** Domains whose recipients are called out: [callout] domains and routes. */
  calloutDomains: Set<string>
}

type Parsed<T> = T & { problems: Array<{ line: number; text: string; message: string }> }

export function rcptLists(
  own: RcptSettings,
  extra: Record<string, Record<string, unknown>>,
  lines: (file: string) => string[],
  report: (message: string) => void,
): RcptLists {
  const listFile = <T>(name: string, parse: (l: string[]) => Parsed<T>): T => {
    const parsed = parse(lines(name))
    for (const p of parsed.problems) report(`${name} line ${p.line}: ${p.message} ("${p.text}"); line skipped`)
    return parsed
  }
  // A zone may be named after one of the file's own sections (senderscore, spamhaus_xbl).
  const sections: Record<string, Record<string, unknown> | undefined> = { ...extra, ...own }
  const { zones, problems } = zoneConfigs(own.dnsbl.zones, sections)
  for (const p of problems) report(`${FILE} ${p}`)
  const { routes, invalid } = parseRoutes(own.callout.routes)
  for (const r of invalid) report(`${FILE} [callout] routes: "${r}" is not domain=host:port; ignored`)
  return {
    zones,
    directory: listFile('support-codes.recipients', (l) => Directory.parse(l)).directory,
    blocks: listFile('support-codes.sender_blocks', (l) => SenderBlocks.parse(l)).blocks,
    mxList: listFile('support-codes.mx_blocklist', (l) => MxBlocklist.parse(l)).list,
    routes,
    calloutDomains: new Set([...own.callout.domains.map((d) => d.toLowerCase()), ...routes.keys()]),
  }
}
