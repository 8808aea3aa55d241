// A part's own MIME fields (RFC 2045 5, 6; RFC 2183) read into a MimePart:
// Content-Type with its parameters, Content-Disposition, and
// Content-Transfer-Encoding. Other fields are not read.
import { fieldValue, HeaderBlock } from './headers'
import { parseStructuredValue, StructuredValue } from './params'
import type { MimePart } from './types'

/** Where a part sits in the tree, known before its header is read. */
export interface PartPlace {
  path: string
  depth: number
  /** The type when the part has no Content-Type (RFC 2045 5.2, RFC 2046 5.1.5). */
  defaultType: string
}

// RFC 2045 5.1: type "/" subtype, each a token (any printable ASCII but tspecials).
const MEDIA_TYPE = /^[a-z0-9!#$%&'*+.^_`{|}~-]+\/[a-z0-9!#$%&'*+.^_`{|}~-]+$/

// Content-Transfer-Encoding fields read per part at most: a part that
// repeats the field more is still decoded these ways, and no more.
export const MAX_ENCODING_FIELDS = 4

function allFields(raw: Buffer, block: HeaderBlock, name: string): string[] {
  const out: string[] = []
  for (const f of block.fields) if (f.name === name) out.push(fieldValue(raw, f, 'latin1'))
  return out
}

/**
 * The part whose header block starts at headerStart; its body end is set
 * later, by the walk. RFC 2045 allows each field once; when a mailer repeats
 * one, clients disagree (most take the first, some the last), so the first
 * gives the part's type, disposition and encoding, and `named` holds every
 * Content-Type and Content-Disposition field, for their file names.
 */
export function makePart(raw: Buffer, headerStart: number, block: HeaderBlock, at: PartPlace): { part: MimePart; type?: StructuredValue; disposition?: StructuredValue; named: StructuredValue[]; odd?: string } {
  const typeTexts = allFields(raw, block, 'content-type')
  const types = typeTexts.map(parseStructuredValue)
  const dispositions = allFields(raw, block, 'content-disposition').map(parseStructuredValue)
  const encodings: string[] = []
  for (const text of allFields(raw, block, 'content-transfer-encoding').slice(0, MAX_ENCODING_FIELDS)) {
    // RFC 2045 6.1: 7bit when empty, as when absent
    const value = parseStructuredValue(text).value || '7bit'
    if (!encodings.includes(value)) encodings.push(value)
  }
  const type = types[0]
  const disposition = dispositions[0]
  // RFC 2045 5.2: no Content-Type means the default; an invalid one means text/plain
  const contentType = type === undefined ? at.defaultType : MEDIA_TYPE.test(type.value) ? type.value : 'text/plain'
  const part: MimePart = {
    path: at.path,
    depth: at.depth,
    contentType,
    params: type?.params ?? (Object.create(null) as Record<string, string>),
    dispositionParams: disposition?.params ?? (Object.create(null) as Record<string, string>),
    filenames: [],
    // RFC 2045 6.1: 7bit when absent
    encoding: encodings[0] ?? '7bit',
    headerStart,
    bodyStart: block.bodyStart,
    bodyEnd: block.bodyStart,
    isMultipart: false,
  }
  if (disposition?.value) part.disposition = disposition.value
  if (encodings.length > 1) part.encodings = encodings
  // a comment in a multipart's Content-Type may hide or carry a boundary, as parsers differ on comments
  const odd = oddity(types, dispositions, encodings, contentType) ??
    (contentType.startsWith('multipart/') && typeTexts[0]?.includes('(') ? 'a comment in a multipart Content-Type' : undefined)
  return odd ? { part, type, disposition, named: [...types, ...dispositions], odd } : { part, type, disposition, named: [...types, ...dispositions] }
}

// Content-Transfer-Encoding values every parser reads alike (RFC 2045 6.1, and uuencode's names).
const PLAIN_ENCODINGS = new Set(['7bit', '8bit', 'binary', 'base64', 'quoted-printable', 'x-uuencode', 'uuencode', 'x-uue', 'uue'])
// A boundary that parsers may read differently: a quote, escape or separator
// in it, a whole value in single quotes, or a second "boundary=" (RFC 2046
// allows ' ( ) = and more in a boundary: mailers use "----=_Part_1").
const ODD_BOUNDARY = /["\\;]|[^\x20-\x7e]|^'.*'$|boundary=/i

/** Why parsers could read the part's fields differently, or undefined when they read alike. */
function oddity(types: StructuredValue[], dispositions: StructuredValue[], encodings: string[], contentType: string): string | undefined {
  if (types.length > 1) return `${types.length} Content-Type fields`
  if (dispositions.length > 1) return `${dispositions.length} Content-Disposition fields`
  if (encodings.length > 1) return `${encodings.length} Content-Transfer-Encoding values`
  if (encodings.length === 1 && !PLAIN_ENCODINGS.has(encodings[0])) return `Content-Transfer-Encoding "${encodings[0].slice(0, 40)}"`
  const type = types[0]
  if (!type) return undefined
  if (contentType !== type.value) return `Content-Type "${type.value.slice(0, 40)}" read as ${contentType}`
  if (type.value.startsWith('x-multipart/')) return `Content-Type ${type.value.slice(0, 40)}`
  if (contentType.startsWith('multipart/')) {
    const boundaries = type.variants.filter((v) => v.name === 'boundary')
    if (boundaries.length > 1) return `${boundaries.length} boundary parameters`
    if (boundaries.length === 1 && ODD_BOUNDARY.test(boundaries[0].value)) return 'a boundary with quotes, escapes or separators in it'
  }
  return undefined
}
