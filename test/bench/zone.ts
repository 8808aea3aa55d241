// The names the loopback DNS server answers during the benchmark: every
// lookup the nodes make for a message from 127.0.0.1 (alice@sender.example
// to bob@example.com) finds what a well-run sender would publish, so the
// bundle's checks run to the end and pass. The DNS lists answer their RFC
// 5782 test entry (127.0.0.2 listed) and, for the realistic case, the
// clients of the mix meant to be listed (mix.ts, which also gives its
// senders' and clients' names).
import * as fs from 'node:fs'
import * as path from 'node:path'
import { ROOT } from '../rig/haraka'
import { ptrName, reverseName, Zone } from '../rig/dns-server'
import { HELO } from './load'
import { mixClients, mixZone } from './mix'

/** [zone, first "listed" address] of every DNS list in a support-codes-rcpt.ini text. */
export function dnsLists(ini: string): Array<[string, string]> {
  const sections = new Map<string, Record<string, string>>()
  let cur: Record<string, string> | undefined
  for (const raw of ini.split('\n')) {
    const line = raw.trim()
    const sec = /^\[([^\]]+)\]$/.exec(line)
    if (sec) {
      cur = {}
      sections.set(sec[1], cur)
      continue
    }
    const kv = /^([^;#=\s]+)\s*=\s*(.*)$/.exec(line)
    if (kv && cur) cur[kv[1]] = kv[2].trim()
  }
  const names = (sections.get('dnsbl')?.zones ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  const out: Array<[string, string]> = []
  for (const name of names) {
    const s = sections.get(name)
    if (!s?.zone) continue
    const listed = (s.listed || '127.0.0.2').split(',')[0].trim().replace(/\/\d+$/, '')
    out.push([s.zone, listed])
  }
  return out
}

/** The DNS lists of the package's defaults (the nodes use those), [zone, listed answer]. */
export function benchLists(): Array<[string, string]> {
  const ini = path.join(ROOT, 'config', 'support-codes-rcpt.ini')
  return fs.existsSync(ini) ? dnsLists(fs.readFileSync(ini, 'utf8')) : []
}

export function benchZone(): Zone {
  const zone: Zone = {
    [ptrName('127.0.0.1')]: [{ type: 'PTR', data: HELO }],
    [HELO]: [{ type: 'A', data: '127.0.0.1' }],
    'sender.example': [
      { type: 'MX', data: { preference: 10, exchange: 'mx.sender.example' } },
      { type: 'TXT', data: 'v=spf1 ip4:127.0.0.0/8 -all' },
    ],
    'mx.sender.example': [{ type: 'A', data: '127.0.0.1' }],
    '_dmarc.sender.example': [{ type: 'TXT', data: 'v=DMARC1; p=reject' }],
    'example.com': [{ type: 'MX', data: { preference: 10, exchange: 'mx.example.com' } }],
    'mx.example.com': [{ type: 'A', data: '127.0.0.1' }],
  }
  const lists = benchLists()
  for (const [name, answer] of lists) zone[reverseName('127.0.0.2', name)] = [{ type: 'A', data: answer }]
  return { ...mixZone(mixClients(lists)), ...zone }
}
