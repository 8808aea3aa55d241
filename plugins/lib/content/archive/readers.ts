// The readers for the formats other than ZIP, loaded once per thread that
// needs them (the 7-Zip module compiles in some tens of ms and keeps its own
// memory), and passed to the scan; a scan without them that meets such an
// archive stops with ReadersNeeded.
import { loadSevenZip, SevenZip, whenReady } from './seven-zip'

export { ReadersNeeded } from './needed'

export interface ArchiveReaders {
  sevenZip: SevenZip
  /** Resolves when every reader can take the next archive. */
  ready(): Promise<void>
}

export async function loadArchiveReaders(): Promise<ArchiveReaders> {
  const sevenZip = await loadSevenZip()
  return { sevenZip, ready: () => whenReady(sevenZip) }
}
