// mime/: the bundle's own MIME scanner: header fields, parameters, encoded words,
// body decoding and uuencode, read linearly within the scan limits. It
// knows nothing of checks or Haraka.
//
// May import: nothing else in plugins/lib.
export {}
