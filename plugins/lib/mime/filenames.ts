// File names as a check must compare them: decoded (RFC 2231 and RFC 2047
// already done by params.ts), then cleaned the way Windows reads them. The
// full name is kept, paths included ("C:\x\evil.exe", "a/b/evil.exe"): the
// checks look at the extension, and a client that strips the path ends up
// with the same one.
import { NAME_PARAMS } from './name-readings'
import type { StructuredValue } from './params'

/**
 * Control characters (C0, DEL, C1) removed, as no file system keeps them and
 * a client drops them before showing the name; trailing dots and spaces
 * removed, as Windows ignores them ("setup.exe." opens as "setup.exe").
 */
export function cleanFilename(name: string): string {
  let out = ''
  let from = 0
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      out += name.slice(from, i)
      from = i + 1
    }
  }
  out += name.slice(from)
  let end = out.length
  while (end > 0 && (out[end - 1] === '.' || out[end - 1] === ' ')) end--
  return out.slice(0, end)
}

/**
 * Every distinct non-empty cleaned name: name= and filename= of every
 * Content-Type and Content-Disposition field given (every form sent), then
 * every other reading of them (params.ts `readings`: what some client would
 * show), then the extra names. The first is the standard reading of the
 * first field that names the part.
 */
export function collectFilenames(headers: Array<StructuredValue | undefined>, extra: readonly string[]): string[] {
  const names = new Set<string>()
  const add = (list: ReadonlyArray<{ name: string; value: string }> | undefined): void => {
    for (const v of list ?? []) {
      if (!NAME_PARAMS.has(v.name)) continue
      const clean = cleanFilename(v.value)
      if (clean) names.add(clean)
    }
  }
  for (const header of headers) add(header?.variants)
  for (const header of headers) add(header?.readings)
  for (const name of extra) {
    const clean = cleanFilename(name)
    if (clean) names.add(clean)
  }
  return [...names]
}
