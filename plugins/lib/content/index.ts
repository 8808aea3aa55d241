// content/: what the content checks judge, read from the raw message: the content
// scan (attachment names, archives of every kind in archive/ and zip/, the
// other readings of disputed mail in readings/), the scan thread it runs on
// for large messages, clamd, and the buffer pools.
//
// May import: mime.
export {}
