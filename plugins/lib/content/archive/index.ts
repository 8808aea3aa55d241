// archive/: archives of every kind the content scan opens, told apart by
// their bytes (detect.ts) and read for the names inside them (inspect.ts):
// ZIP through zip/, ISO 9660 images through iso9660.ts (every directory
// tree), RAR, 7z, UDF, CAB and tar through the 7-Zip module (seven-zip.ts,
// loaded by readers.ts on the scan thread), gzip members inflated within
// the caps.
//
// May import: mime, content/zip.
export {}
