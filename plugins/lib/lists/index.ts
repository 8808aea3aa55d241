// lists/: the operator's list files and DNS list zones as objects: the recipient
// directory, sender blocks, the MX blocklist, DNS list zones with the meaning
// of their answers and their health. Parsing and lookups only; verdicts are
// in checks/.
//
// May import: config, dns.
export {}
