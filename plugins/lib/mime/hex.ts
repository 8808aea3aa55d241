// Hex digits as used by quoted-printable (RFC 2045 6.7), RFC 2047 Q words and
// RFC 2231 percent-encoding; lower case accepted, as decoders are told to be
// lenient (RFC 2045 6.7, note 1).

/** The value of an ASCII hex digit, or -1. */
export function hexValue(c: number | undefined): number {
  if (c === undefined) return -1
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  return -1
}
