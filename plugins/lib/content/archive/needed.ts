// The scan stops with ReadersNeeded when an archive needs a reader it was
// not given or that is not ready (being made afresh after an archive left
// the last one unusable): a scan in place then ends as its deadline would
// (the message goes to the scan thread), and the thread waits for the
// readers and scans again (content/scan.ts scanWithReaders).
import { ScanDeadlineError } from '../../mime/deadline'

export class ReadersNeeded extends ScanDeadlineError {
  constructor(what: string) {
    super(`${what}: read on the scan thread once its reader is ready`)
    this.name = 'ReadersNeeded'
  }
}
