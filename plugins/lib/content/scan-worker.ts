// The scan thread's side (see scan-thread.ts): reads each message from the
// shared memory it is handed and answers with what the content checks judge.
import { parentPort } from 'node:worker_threads'
import { ContentSettings, scanContent } from './scan'
import type { ScanReply, ScanRequest } from './scan-thread'

const port = parentPort
let settings: ContentSettings | undefined
if (port) {
  port.on('message', (req: ScanRequest) => {
    let reply: ScanReply
    try {
      settings = req.settings ?? settings
      if (!settings) throw new Error('no settings received')
      reply = { id: req.id, facts: scanContent(Buffer.from(req.memory, 0, req.length), settings) }
    } catch (err) {
      reply = { id: req.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }
    }
    port.postMessage(reply)
  })
}
