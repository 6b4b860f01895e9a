import type { GetObjectCommandOutput } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { makePrivateDir } from '../../util/modes.js';
import { writePrivateFileAtomic } from '../../util/atomic-write.js';
import type { DownloadFacts } from '../../delta/attempt.js';
import { lostArchive } from '../../delta/source.js';

/**
 * What an S3 remote keeps in its cache directory between runs: the last archive it downloaded
 * and the object's ETag / VersionId. The ETag makes the next check a conditional request; the
 * archive lets `fetch` reuse a body the check already transferred.
 */

/** Facts about the cached archive. */
export interface S3CacheEntry {
  /** The version reported for it: VersionId when the store has one, else the ETag. */
  version: string;
  etag: string;
  versionId?: string;
  /** sha256 of the archive, hex. */
  sha256: string;
  bytes: number;
  /** How the archive got here: the fetch that deploys it reports the bytes (once). */
  download?: DownloadFacts;
  /** A newer version a ranged check saw: `fetch` rebuilds it from this archive plus ranges. */
  pending?: S3Pending;
}

/** A version seen by a ranged check, and what pins range requests to it. */
export interface S3Pending {
  /** VersionId when the store has one, else the ETag. */
  version: string;
  etag: string;
  versionId?: string;
  /** Size of the new object. */
  bytes: number;
}

/** File names inside the cache directory. */
export function cachePaths(cacheDir: string): { archive: string; meta: string } {
  return { archive: join(cacheDir, 'archive.zip'), meta: join(cacheDir, 'object.json') };
}

/**
 * The cached entry, or undefined when there is none (or it is unreadable, or its archive is
 * gone). An entry whose archive is gone or replaced is said to `logger`: the next download is
 * whole, and an operator watching for deltas should see why.
 */
export async function readCacheEntry(cacheDir: string, logger: Logger): Promise<S3CacheEntry | undefined> {
  const paths = cachePaths(cacheDir);
  let entry: S3CacheEntry;
  try {
    entry = JSON.parse(await readFile(paths.meta, 'utf8')) as S3CacheEntry;
    if (typeof entry.version !== 'string' || typeof entry.etag !== 'string' || typeof entry.sha256 !== 'string') return undefined;
  } catch {
    return undefined;
  }
  const size = await stat(paths.archive).then((archive) => archive.size, () => undefined);
  // A size mismatch means the archive was replaced without its meta: do not trust either.
  if (size === entry.bytes) return entry;
  logger.info({ archive: paths.archive, reason: size === undefined ? lostArchive : 'the cached archive no longer matches its record' }, 'no cached archive to build on: the archive is downloaded whole');
  return undefined;
}

/**
 * Forgets the cached entry. Called before a new archive replaces the old one, so a crash
 * between the two renames leaves no meta at all (the next check downloads again) rather than
 * an old ETag paired with a new archive.
 */
export async function dropCacheEntry(cacheDir: string): Promise<void> {
  await makePrivateDir(cacheDir);
  await rm(cachePaths(cacheDir).meta, { force: true });
}

/** Records `entry` for the archive now in place; written under a temporary name, then renamed. */
export async function writeCacheEntry(cacheDir: string, entry: S3CacheEntry): Promise<void> {
  const { meta } = cachePaths(cacheDir);
  await writePrivateFileAtomic(meta, `${JSON.stringify(entry, null, 2)}\n`);
}

/** The version of a GetObject answer: its VersionId when versioned, else its ETag. */
export function versionOf(response: GetObjectCommandOutput): { version: string | undefined; versionId: string | undefined } {
  // "null" is the VersionId of objects written while versioning was off or suspended; it is
  // reused by every such overwrite, so it says nothing about the content: use the ETag.
  const versionId = response.VersionId && response.VersionId !== 'null' ? response.VersionId : undefined;
  return { version: versionId ?? response.ETag, versionId };
}
