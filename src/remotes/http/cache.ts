import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makePrivateDir } from '../../util/modes.js';
import { writePrivateFileAtomic } from '../../util/atomic-write.js';
import type { DownloadFacts } from '../../delta/attempt.js';
import { tryCacheLock } from '../../pipeline/lock.js';

/**
 * What an HTTP remote keeps in its cache directory between runs: the validators of the last
 * 200 response and the archive it carried, so the next check can be conditional (one request,
 * no body when unchanged) and `fetch` can reuse the download.
 */

/** The JSON kept beside the cached archive. */
export interface HttpCacheState {
  /** sha256 of the credential-free URL: a cache directory reused for another URL is ignored. */
  urlKey: string;
  /** The version `check` reported for this content. */
  version: string;
  /** sha256 of the archive, hex; the archive is `sha256-<hex>.zip` beside this file. */
  sha256: string;
  bytes: number;
  etag?: string;
  lastModified?: string;
  /** How the archive got here: the fetch that deploys it reports the bytes (once). */
  download?: DownloadFacts;
  /**
   * A newer version the check saw but did not download: the archive above stays as the base
   * of a delta download, which `fetch` attempts.
   */
  pending?: PendingVersion;
}

/** A version seen by a ranged check: what `fetch` needs to pin its range requests to it. */
export interface PendingVersion {
  version: string;
  /** Size of the new archive. */
  bytes: number;
  etag?: string;
  lastModified?: string;
}

const stateName = 'http-state.json';

/** Key identifying a URL in the state, without keeping the URL (it could carry a token). */
export function urlKeyOf(display: string): string {
  return createHash('sha256').update(display).digest('hex');
}

/** Path of the cached archive with this digest. */
export function archivePath(cacheDir: string, sha256: string): string {
  return join(cacheDir, `sha256-${sha256}.zip`);
}

/** The state for `urlKey`, or undefined when absent, unreadable or for another URL. */
export async function loadState(cacheDir: string, urlKey: string): Promise<HttpCacheState | undefined> {
  try {
    const state = JSON.parse(await readFile(join(cacheDir, stateName), 'utf8')) as HttpCacheState;
    return state.urlKey === urlKey && typeof state.version === 'string' && typeof state.sha256 === 'string' ? state : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Records `state`, then removes archives of other versions. Order matters for crash safety: the
 * archive is in place before the state names it, and old archives go only once nothing names them.
 */
export async function saveState(cacheDir: string, state: HttpCacheState): Promise<void> {
  await makePrivateDir(cacheDir);
  await writePrivateFileAtomic(join(cacheDir, stateName), JSON.stringify(state));
  // A delta of another app sharing the cache may be rebuilding from an older archive: they are
  // left to the next save then.
  const lock = await tryCacheLock(cacheDir);
  if (!lock) return;
  try {
    const keep = `sha256-${state.sha256}.zip`;
    for (const name of await readdir(cacheDir)) {
      if (name.startsWith('sha256-') && name.endsWith('.zip') && name !== keep) await rm(join(cacheDir, name), { force: true });
    }
  } finally {
    await lock.release();
  }
}
