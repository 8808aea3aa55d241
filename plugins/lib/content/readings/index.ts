// readings/: the other ways a message can be read where MIME parsers could
// disagree. signs.ts says whether they could (cheap, on every message);
// segments.ts cuts the message at every "--" line; decoders.ts decodes a
// stretch of bytes every lenient way a client does; readings.ts reads
// every stretch every way and looks for zip entries anywhere in the bytes.
// What is found there is judged by its names only (see attachment-facts.ts).
//
// May import: mime, content/zip.
export {}
