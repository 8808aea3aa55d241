#!/usr/bin/env node
// support-codes: the bundle's command line.
//   support-codes explain FILE.eml --ip A --helo H --from S --to R [--to R2] [--config DIR] [--dns S] [--counter NAME=N] [--json]
//   support-codes codes
import * as fs from 'node:fs'
import { codesTable } from './lib/codes/table'
import { COUNTER_NAMES, Counters, parseCounter } from './lib/explain/counters'
import type { ExplainInput } from './lib/explain/explain'

const USAGE = `usage:
  support-codes explain FILE.eml --ip ADDRESS --helo NAME --from SENDER --to RECIPIENT [--to ...]
                        [--config DIR] [--dns SERVER[:PORT],...] [--counter NAME=N ...] [--json]
  support-codes codes

explain runs the bundle's checks on a message offline, as a Haraka node with
these settings would (DNS lookups, callouts and clamd included), and prints
what each check saw and decided and the exact line the server would send.
  --config DIR   the node's config folder (default: the package's defaults)
  --from ''      the null sender
  --dns          DNS servers to ask (default: [dns] servers, else the system's)
  --counter      what the counter checks would see (the memory store lives in
                 the server; with Redis the store is read, never written):
${Object.entries(COUNTER_NAMES).map(([k, v]) => `                   ${k}: ${v}`).join('\n')}
codes prints every reply line of the catalog with its support code.
`

function fail(message: string): never {
  process.stderr.write(`support-codes: ${message}\n\n${USAGE}`)
  process.exit(2)
}

function parseExplain(args: string[]): { input: ExplainInput; json: boolean } {
  let file: string | undefined
  const opts: Record<string, string> = {}
  const to: string[] = []
  const counters: Counters = {}
  let json = false
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === '--json') { json = true; continue }
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(a)
    if (!m) {
      if (file) fail(`one message file, please (got ${file} and ${a})`)
      file = a
      continue
    }
    const value = m[2] ?? args[++i]
    if (value === undefined) fail(`--${m[1]} needs a value`)
    if (m[1] === 'to') to.push(...value.split(',').map((s) => s.trim()).filter(Boolean))
    else if (m[1] === 'counter') {
      try { parseCounter(value, counters) } catch (err) { fail((err as Error).message) }
    } else if (['ip', 'helo', 'from', 'config', 'dns'].includes(m[1])) opts[m[1]] = value
    else fail(`unknown option --${m[1]}`)
  }
  if (!file) fail('explain needs a message file (FILE.eml, or - for standard input)')
  for (const need of ['ip', 'helo', 'from']) if (opts[need] === undefined) fail(`explain needs --${need}`)
  if (!to.length) fail('explain needs at least one --to')
  const strip = (s: string): string => s.replace(/^<(.*)>$/, '$1')
  let message: Buffer
  try {
    message = file === '-' ? fs.readFileSync(0) : fs.readFileSync(file)
  } catch (err) {
    fail(`cannot read ${file}: ${(err as Error).message}`)
  }
  return {
    input: {
      message, ip: opts.ip, helo: opts.helo, from: strip(opts.from), to: to.map(strip), configDir: opts.config, counters,
      dnsServers: opts.dns?.split(',').map((s) => s.trim()).filter(Boolean),
    },
    json,
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === 'codes') {
    process.stdout.write(codesTable())
    return 0
  }
  if (command === 'explain') {
    const { input, json } = parseExplain(rest)
    // Libraries the checks load print notes of their own on standard output;
    // it is kept for the answer (--json must parse).
    console.log = (...args: unknown[]): void => console.error(...args)
    const { explain } = await import('./lib/explain/explain')
    const { explanationText } = await import('./lib/explain/report')
    const e = await explain(input)
    process.stdout.write(json ? JSON.stringify(e, null, 2) + '\n' : explanationText(e))
    return 0
  }
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE)
    return command ? 0 : 2
  }
  fail(`unknown command ${command}`)
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`support-codes: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  },
)
