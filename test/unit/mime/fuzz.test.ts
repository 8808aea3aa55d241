// Mutated messages through the MIME scanner: byte flips, truncations,
// duplicated and deleted lines, boundary lines removed or repeated, huge
// header lines, stray line breaks. The scanner must never throw, must return
// quickly, and every part it reports must be sound. The PRNG is seeded: a
// failure names its seed and mutations, and FUZZ_SEED=<seed> replays one case.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { partBody, scanMime, ScanLimits, topLevelHeaders, uuencodedFiles } from '../../../plugins/lib/mime/scan'
import { scanContent } from '../../../plugins/lib/content/scan'
import { IN_PLACE_DEADLINE_MS } from '../../../plugins/lib/content/scan-thread'
import { readSettings } from '../../../plugins/lib/config/settings'
import { corpus } from '../../fixtures/mime/messages'
import { assertSound } from '../../fixtures/mime/sound'
import { mulberry32 as prng } from '../../rig/prng'

const LIMITS: ScanLimits = { maxParts: 200, maxDepth: 20, maxHeaderBytes: 16 * 1024 }
// The package defaults, with the scanner's limits above.
const DEFAULTS = readSettings('support-codes-data.ini', {}).settings
const CONTENT = { ...DEFAULTS, scan: { ...DEFAULTS.scan, max_parts: LIMITS.maxParts, max_depth: LIMITS.maxDepth, max_header_bytes: LIMITS.maxHeaderBytes } }
const CASES = 600
const FIRST_SEED = 20260504
// Generous: a scan of these messages takes well under a millisecond.
const MAX_MS = 1000


type Rand = () => number
const int = (rand: Rand, n: number): number => Math.floor(rand() * n)

// Lines keep their own line breaks, so joining them gives the bytes back.
function splitLines(raw: Buffer): string[] {
  return raw.toString('latin1').split(/(?<=\n)/)
}

function join(list: readonly string[]): Buffer {
  return Buffer.from(list.join(''), 'latin1')
}

const isBoundaryLine = (line: string): boolean => line.startsWith('--')

const MUTATIONS: Record<string, (raw: Buffer, rand: Rand) => Buffer> = {
  'flip bytes': (raw, rand) => {
    const out = Buffer.from(raw)
    for (let n = 1 + int(rand, 16); n > 0 && out.length; n--) out[int(rand, out.length)] = int(rand, 256)
    return out
  },
  truncate: (raw, rand) => raw.subarray(0, int(rand, raw.length + 1)),
  'duplicate lines': (raw, rand) => {
    const list = splitLines(raw)
    for (let n = 1 + int(rand, 4); n > 0; n--) {
      const at = int(rand, list.length)
      list.splice(at, 0, ...Array<string>(1 + int(rand, 40)).fill(list[at] ?? '\r\n'))
    }
    return join(list)
  },
  'delete lines': (raw, rand) => {
    const list = splitLines(raw)
    for (let n = 1 + int(rand, 6); n > 0 && list.length; n--) list.splice(int(rand, list.length), 1 + int(rand, 3))
    return join(list)
  },
  'remove boundary lines': (raw, rand) => {
    const all = rand() < 0.3
    return join(splitLines(raw).filter((line) => !isBoundaryLine(line) || (!all && rand() < 0.5)))
  },
  'repeat boundary lines': (raw, rand) => {
    const list = splitLines(raw)
    const boundaries = list.filter(isBoundaryLine)
    if (!boundaries.length) return raw
    for (let n = 1 + int(rand, 8); n > 0; n--) list.splice(int(rand, list.length + 1), 0, boundaries[int(rand, boundaries.length)])
    return join(list)
  },
  'huge header line': (raw, rand) => {
    const list = splitLines(raw)
    const headers = list.map((line, i) => [line, i] as const).filter(([line]) => /^[\w-]+:/.test(line))
    const size = 20000 + int(rand, 300000)
    const filling = rand() < 0.5 ? 'a'.repeat(size) : '; x="' + 'b'.repeat(size) + '"'
    if (headers.length && rand() < 0.8) {
      const [line, i] = headers[int(rand, headers.length)]
      list[i] = line.replace(/\r?\n$/, '') + filling + '\r\n'
    } else {
      list.splice(int(rand, list.length + 1), 0, `X-Huge: ${filling}\r\n`)
    }
    return join(list)
  },
  'stray line breaks and NULs': (raw, rand) => {
    const pieces = ['\r', '\n', '\r\n', '\x00', '--', '\r\n\r\n', '=', '"', ';', '(']
    let out = raw
    for (let n = 1 + int(rand, 10); n > 0; n--) {
      const at = int(rand, out.length + 1)
      out = Buffer.concat([out.subarray(0, at), Buffer.from(pieces[int(rand, pieces.length)], 'latin1'), out.subarray(at)])
    }
    return out
  },
  'mixed line ends': (raw, rand) => Buffer.from(raw.toString('latin1').replace(/\r\n/g, () => (rand() < 0.5 ? '\n' : '\r\n')), 'latin1'),
}

interface Case {
  seed: number
  base: string
  mutations: string[]
  raw: Buffer
}

function makeCase(seed: number, seeds: ReadonlyArray<{ name: string; raw: Buffer }>): Case {
  const rand = prng(seed)
  const base = seeds[int(rand, seeds.length)]
  const names = Object.keys(MUTATIONS)
  const mutations: string[] = []
  let raw = base.raw
  for (let n = 1 + int(rand, 3); n > 0; n--) {
    const name = names[int(rand, names.length)]
    mutations.push(name)
    raw = MUTATIONS[name](raw, rand)
  }
  return { seed, base: base.name, mutations, raw }
}

/** Scans one message and uses every entry point on what it found; returns the scan time. */
function exercise(raw: Buffer, context: string): { ms: number; kinds: string[] } {
  const started = process.hrtime.bigint()
  const result = scanMime(raw, LIMITS)
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  assert.ok(ms < MAX_MS, `${context}: scan took ${ms} ms`)
  assertSound(raw, result, context)
  assert.ok(result.parts.length <= LIMITS.maxParts, `${context}: too many parts`)
  assert.ok(result.parts.every((p) => p.depth <= LIMITS.maxDepth), `${context}: too deep`)
  for (const p of result.parts) {
    const body = partBody(raw, p, 1 << 20)
    assert.ok(body === undefined || body.length <= 1 << 20, `${context}: body of ${p.path}`)
    for (const file of uuencodedFiles(raw, p, 1 << 20)) assert.equal(typeof file.name, 'string')
  }
  topLevelHeaders(raw, LIMITS.maxHeaderBytes)
  // the whole content scan, as the data plugin runs it: an answer, limits included, never a throw
  const facts = scanContent(raw, CONTENT)
  assert.ok(facts.attachments, `${context}: no attachment facts`)
  // with the in-place deadline: the same facts, unless the deadline passed
  const inPlace = scanContent(raw, CONTENT, IN_PLACE_DEADLINE_MS)
  if (inPlace.limit?.name !== 'timeout') assert.deepEqual(inPlace, facts, `${context}: in place`)
  return { ms, kinds: result.problems.map((p) => p.kind) }
}

describe('MIME scanner fuzz', () => {
  const seeds = corpus()

  test('the well-formed messages scan without problems', () => {
    assert.ok(seeds.length >= 20)
    for (const { name, raw } of seeds) {
      const result = scanMime(raw, LIMITS)
      assertSound(raw, result, name)
      assert.deepEqual(result.problems, [], name)
    }
  })

  test(`${CASES} seeded mutations: no throw, no hang, sound offsets`, () => {
    const only = process.env.FUZZ_SEED ? [Number(process.env.FUZZ_SEED)] : Array.from({ length: CASES }, (_, i) => FIRST_SEED + i)
    const seen = new Map<string, number>()
    let total = 0
    let slowest = 0
    for (const seed of only) {
      const c = makeCase(seed, seeds)
      const context = `seed ${c.seed} (${c.base}: ${c.mutations.join(', ')})`
      let outcome: { ms: number; kinds: string[] }
      try {
        outcome = exercise(c.raw, context)
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err
        assert.fail(`${context}: threw ${(err as Error).stack ?? String(err)}`)
      }
      total += outcome.ms
      slowest = Math.max(slowest, outcome.ms)
      for (const kind of outcome.kinds) seen.set(kind, (seen.get(kind) ?? 0) + 1)
    }
    const summary = [...seen].sort().map(([k, n]) => `${k} ${n}`).join(', ')
    process.stdout.write(`# fuzz: ${only.length} cases, scan time total ${total.toFixed(1)} ms, slowest ${slowest.toFixed(2)} ms; problems: ${summary || 'none'}\n`)
  })
})
