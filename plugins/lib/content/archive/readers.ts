// The readers for the formats other than ZIP, loaded once per thread that
// needs them (the 7-Zip module compiles in some tens of ms and keeps its own
// memory), and passed to the scan; a scan without them that meets such an
// archive stops with ReadersNeeded.
import { ScanDeadlineError } from '../../mime/deadline'
import { loadSevenZip, SevenZip } from './seven-zip'

export interface ArchiveReaders {
  sevenZip: SevenZip
}

export async function loadArchiveReaders(): Promise<ArchiveReaders> {
  return { sevenZip: await loadSevenZip() }
}

/**
 * An archive needs a reader the scan was not given. A scan in place then
 * ends as its deadline would (the message goes to the scan thread); the
 * thread loads the readers and scans again.
 */
export class ReadersNeeded extends ScanDeadlineError {
  constructor(kind: string) {
    super(`a ${kind} archive is read on the scan thread`)
    this.name = 'ReadersNeeded'
  }
}
