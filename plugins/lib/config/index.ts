// config/: operator settings as data: the schema of every ini key with its default,
// the reader that types raw ini values against it, IP/CIDR lists, and where
// the package is installed. Nothing here reads Haraka or the network.
//
// May import: nothing else in plugins/lib.
export {}
