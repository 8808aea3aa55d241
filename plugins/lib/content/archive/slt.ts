// The technical listing 7-Zip prints for `l -slt`, read into entries: one pass
// over the lines, linear in the output. The archive's own block comes first
// (before the "----------" line); then one block per entry, "Key = value"
// lines separated by blank lines, each starting with "Path = ".
//
// Names with line breaks: 7-Zip 24.09 prints every control character of a
// name as '_' (a tar member "a\nb.exe" is listed as "a_b.exe"), so a name
// cannot forge a line. Should a line in the entries not read "Key = value",
// the listing is unsafe rather than guessed at.

export interface SltEntry {
  path: string
  dir: boolean
  encrypted: boolean
  size?: number
  packedSize?: number
  /** 7z: the solid block (folder) holding the member's data. */
  block?: number
  /** RAR: the member's data continues the previous member's solid stream. */
  solid: boolean
}

export interface SltListing {
  entries: SltEntry[]
  /** The archive's own "Type = " (e.g. Rar5), or undefined when 7-Zip did not open it. */
  type?: string
  /** The first line saying the archive is damaged or unreadable. */
  problem?: string
}

// What 7-Zip prints (CPP/7zip/UI/Console/List.cpp, OpenCallbackConsole.cpp,
// ExtractCallbackConsole.cpp) when an archive cannot be read in full.
const PROBLEM = /^(ERROR|Open ERROR|ERRORS|WARNING|WARNINGS|Can ?not open|Headers Error|Unexpected end of archive|There are some data after the end|There are data after the end|Wrong password|Data Error|CRC Failed|Unsupported (method|feature)|Is not archive|Unconfirmed start of archive|Unavailable start of archive)/i
const KEY_LINE = /^([A-Z][A-Za-z0-9 ]*?) = (.*)$/
const DECIMAL = /^\d{1,16}$/

/** Reads the output lines of `7zz l -slt`; entries beyond maxEntries are counted, not kept. */
export function parseSlt(lines: readonly string[], maxEntries: number): SltListing & { count: number } {
  const entries: SltEntry[] = []
  let problem: string | undefined
  let type: string | undefined
  let inEntries = false
  let count = 0
  let current: SltEntry | undefined
  // After "ERRORS:" or "WARNINGS:" the next line says what.
  let heading: string | undefined
  for (const line of lines) {
    if (problem === undefined) {
      if (heading !== undefined && line !== '') problem = line
      else if (line === 'ERRORS:' || line === 'WARNINGS:') heading = line
      else if (PROBLEM.test(line) && !namesFile(line)) problem = line
    }
    if (!inEntries) {
      if (line === '----------') inEntries = true
      else if (type === undefined && line.startsWith('Type = ')) type = line.slice(7)
      continue
    }
    if (line === '') {
      current = undefined
      continue
    }
    const kv = KEY_LINE.exec(line)
    if (kv === null) {
      // 7-Zip's summary or error lines after the entries also land here:
      // the PROBLEM test above has named those already.
      if (problem === undefined && heading === undefined) problem = `a line that is not "Key = value" in the listing: ${line.slice(0, 80)}`
      current = undefined
      continue
    }
    const [, key, value] = kv
    if (key === 'Path') {
      count++
      current = { path: value, dir: false, encrypted: false, solid: false }
      if (entries.length < maxEntries) entries.push(current)
      continue
    }
    if (current === undefined) continue
    switch (key) {
      case 'Folder':
        current.dir = value === '+'
        break
      case 'Attributes':
        // 7z gives no Folder line; its attributes start with D for a directory.
        if (/^[A-Z]*D/.test(value)) current.dir = true
        break
      case 'Encrypted':
        current.encrypted = value === '+'
        break
      case 'Solid':
        current.solid = value === '+'
        break
      case 'Size':
        if (DECIMAL.test(value)) current.size = Number(value)
        break
      case 'Packed Size':
        if (DECIMAL.test(value)) current.packedSize = Number(value)
        break
      case 'Block':
        if (DECIMAL.test(value)) current.block = Number(value)
        break
    }
  }
  return { entries, type, problem, count }
}

/** "ERROR: f : f", the line naming the file before the reason 7-Zip gives on the next lines. */
function namesFile(line: string): boolean {
  if (!line.startsWith('ERROR: ')) return false
  const rest = line.slice(7)
  const half = (rest.length - 3) / 2
  return Number.isInteger(half) && rest.slice(half, half + 3) === ' : ' && rest.slice(0, half) === rest.slice(half + 3)
}
