import { VerificationError } from '../errors.js';
import { unpackArchive, type UnpackOptions } from '../remotes/archive.js';
import type { FetchResult } from '../remotes/types.js';
import type { ArchiveVerification } from '../verify/archive.js';
import { downloadDetail, type DownloadFacts } from './attempt.js';

/** Options for `unpackFetched`: `unpackArchive`'s, with how the archive was fetched instead of a byte count. */
export interface UnpackFetchedOptions extends Omit<UnpackOptions, 'bytesDownloaded' | 'verified'> {
  /** How the archive was fetched (`cache` when a fetch reported its bytes before). */
  facts: DownloadFacts;
  /** The verification a delta download did on exactly these bytes. */
  verified: ArchiveVerification | undefined;
  /** Forgets the cached archive (the next fetch downloads it whole). */
  dropCache(): Promise<void>;
}

/**
 * Unpacks a zip remote's cached archive and says how it was fetched: the bytes (reported
 * once) and `detail.download`. Entries a delta download copied are trusted to the cached
 * archive; when extraction finds one corrupt (a disk error), the cache is dropped so the next
 * try downloads the whole archive rather than rebuild the same bytes.
 */
export async function unpackFetched(file: string, into: string, options: UnpackFetchedOptions): Promise<FetchResult> {
  const { facts, verified, dropCache, ...unpack } = options;
  try {
    const result = await unpackArchive(file, into, { ...unpack, bytesDownloaded: facts.how === 'cache' ? 0 : facts.bytes, ...(verified ? { verified } : {}) });
    return { ...result, detail: { ...result.detail, ...downloadDetail(facts) } };
  } catch (error) {
    if (error instanceof VerificationError && facts.how === 'delta') await dropCache();
    throw error;
  }
}
