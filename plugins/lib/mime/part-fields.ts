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

function firstField(raw: Buffer, block: HeaderBlock, name: string): string | undefined {
  // RFC 2045 allows each field once; the first one wins when a mailer repeats it
  const field = block.fields.find((f) => f.name === name)
  return field && fieldValue(raw, field, 'latin1')
}

/** The part whose header block starts at headerStart; its body end is set later, by the walk. */
export function makePart(raw: Buffer, headerStart: number, block: HeaderBlock, at: PartPlace): { part: MimePart; type?: StructuredValue; disposition?: StructuredValue } {
  const ctText = firstField(raw, block, 'content-type')
  const cdText = firstField(raw, block, 'content-disposition')
  const cteText = firstField(raw, block, 'content-transfer-encoding')
  const type = ctText === undefined ? undefined : parseStructuredValue(ctText)
  const disposition = cdText === undefined ? undefined : parseStructuredValue(cdText)
  // RFC 2045 5.2: no Content-Type means the default; an invalid one means text/plain
  const contentType = type === undefined ? at.defaultType : MEDIA_TYPE.test(type.value) ? type.value : 'text/plain'
  const encoding = cteText === undefined ? '' : parseStructuredValue(cteText).value
  const part: MimePart = {
    path: at.path,
    depth: at.depth,
    contentType,
    params: type?.params ?? (Object.create(null) as Record<string, string>),
    dispositionParams: disposition?.params ?? (Object.create(null) as Record<string, string>),
    filenames: [],
    // RFC 2045 6.1: 7bit when absent
    encoding: encoding || '7bit',
    headerStart,
    bodyStart: block.bodyStart,
    bodyEnd: block.bodyStart,
    isMultipart: false,
  }
  if (disposition?.value) part.disposition = disposition.value
  return { part, type, disposition }
}
