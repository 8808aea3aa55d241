// checks/: every verdict: plain functions from facts to a catalog code and its
// variables, or nothing. They know nothing of Haraka; the facts' types come
// from the folders that gather them.
//
// May import: codes, auth, callout, content, dns, lists.
export {}
