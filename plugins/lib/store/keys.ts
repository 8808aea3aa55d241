// Counter keys are built here so that the ones read or written together fall
// in one hash slot of a Redis Cluster: the part in braces (the hash tag) is
// what the cluster hashes, so both periods of a rate window, or every G28
// counter of a client, sit on one node and one script or MGET can read them.
// Keys still spread over the slots by their subject (client, sender,
// recipient).

/**
 * The hash tag of a subject: the subject in braces, with "%", "{" and "}"
 * escaped so that an address holding braces cannot move the tag (Redis
 * hashes from the first "{" to the next "}") and two subjects never share
 * a key.
 */
export function tag(subject: string): string {
  return `{${subject.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}}`
}

/**
 * What decides a key's slot on a cluster: its hash tag when it has one (the
 * text between the first "{" and the next "}", when not empty), else the
 * whole key. Keys of one group share a slot.
 */
export function slotGroup(key: string): string {
  const open = key.indexOf('{')
  if (open >= 0) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) return key.slice(open + 1, close)
  }
  return key
}
