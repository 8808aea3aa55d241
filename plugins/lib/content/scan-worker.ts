// The scan thread's side (see scan-thread.ts): reads each message from the
// shared memory it is handed and answers with what the content checks judge.
//
// The readers of archives other than ZIP (archive/readers.ts) are loaded
// the first time a message needs them, and kept for the thread's life.
import { parentPort } from 'node:worker_threads'
import { ArchiveReaders, loadArchiveReaders } from './archive/readers'
import { ContentSettings, scanWithReaders } from './scan'
import type { ScanReply, ScanRequest } from './scan-thread'

const port = parentPort
let settings: ContentSettings | undefined
let readers: Promise<ArchiveReaders> | undefined
const load = (): Promise<ArchiveReaders> => (readers ??= loadArchiveReaders())
if (port) {
  port.on('message', (req: ScanRequest) => {
    const answer = async (): Promise<ScanReply> => {
      try {
        settings = req.settings ?? settings
        if (!settings) throw new Error('no settings received')
        return { id: req.id, facts: await scanWithReaders(Buffer.from(req.memory, 0, req.length), settings, load) }
      } catch (err) {
        return { id: req.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }
      }
    }
    void answer().then((reply) => port.postMessage(reply))
  })
}
