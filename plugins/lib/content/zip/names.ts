// ZIP entry names as extractors show them. APPNOTE.TXT 4.4.4: general purpose
// bit 11 set means the name is UTF-8, otherwise it is IBM code page 437
// (appendix D). A name that reads differently to different extractors is
// judged under every spelling, so that no spelling hides a file.

/** General purpose bit 11 (APPNOTE 4.4.4): name and comment are UTF-8. */
export const FLAG_UTF8 = 0x0800

/** Code page 437, bytes 0x80-0xFF (APPNOTE appendix D); 0x00-0x7F is ASCII. */
export const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒ' +
  'áíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐' +
  '└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀' +
  'αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0'

export function decodeCp437(raw: Uint8Array): string {
  let text = ''
  for (const byte of raw) text += byte < 0x80 ? String.fromCharCode(byte) : CP437_HIGH[byte - 0x80]
  return text
}

/** Info-ZIP Unicode Path extra field (APPNOTE 4.6.9). */
const UNICODE_PATH = 0x7075

/**
 * The UTF-8 name of an Info-ZIP Unicode Path field, which Info-ZIP and 7-Zip
 * prefer to the header's name. Its CRC of the header name is not checked:
 * both names are judged whichever an extractor picks.
 */
function unicodePath(extra: Buffer): string | undefined {
  const body = extraField(extra, UNICODE_PATH)
  // Version 1, the CRC-32 of the header name, then the name.
  return body !== undefined && body.length > 5 && body[0] === 1 ? body.subarray(5).toString('utf8') : undefined
}

/** The data of the first extra field with this id (APPNOTE 4.5.1: a run of id u16, size u16, data). */
export function extraField(extra: Buffer, id: number): Buffer | undefined {
  for (let at = 0; at + 4 <= extra.length; at += 4 + extra.readUInt16LE(at + 2)) {
    if (extra.readUInt16LE(at) === id) return extra.subarray(at + 4, at + 4 + extra.readUInt16LE(at + 2))
  }
  return undefined
}

/**
 * Every spelling of one entry's path: as its flags say, the Unicode Path
 * field's, and each cut at a NUL byte (C extractors stop there, so
 * `x.exe\0.txt` lands as `x.exe`). The first is the header's own.
 */
export function entryNames(raw: Buffer, flags: number, extra: Buffer): string[] {
  const names = [(flags & FLAG_UTF8) !== 0 ? raw.toString('utf8') : decodeCp437(raw)]
  const unicode = unicodePath(extra)
  if (unicode !== undefined) names.push(unicode)
  for (const name of names.slice()) {
    const nul = name.indexOf('\0')
    if (nul >= 0) names.push(name.slice(0, nul))
  }
  return [...new Set(names)]
}

/**
 * The last component of a path. APPNOTE 4.4.17.1 wants '/', but Windows
 * extractors split on '\' too. Empty for a directory (a trailing separator).
 */
/** Between an archive's path and a path inside it: "disk.iso > setup/run.exe". */
export const NESTED = ' > '

export function baseName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1)
}
