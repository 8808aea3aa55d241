// A plain Haraka plugin for the test node: queues each accepted message to a
// file in SC_TEST_QUEUE, so tests can count and read what was accepted.
import constants from 'haraka-constants'
import * as fs from 'node:fs'
import * as path from 'node:path'

interface Txn {
  uuid: string
  message_stream: { pipe(dest: NodeJS.WritableStream, opts?: object): void }
}

export function hook_queue(next: (code?: number, msg?: string) => void, connection: { transaction: Txn }): void {
  const txn = connection.transaction
  const dir = process.env.SC_TEST_QUEUE as string
  const file = path.join(dir, `${Date.now()}-${txn.uuid}.eml`)
  const out = fs.createWriteStream(file)
  out.on('error', (err) => next(constants.denysoft, `test queue: ${err.message}`))
  out.on('close', () => next(constants.ok, `queued as ${txn.uuid}`))
  txn.message_stream.pipe(out, { line_endings: '\n' })
}
