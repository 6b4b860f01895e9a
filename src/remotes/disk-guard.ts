import { constants } from 'node:fs';
import { access, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DiskError, diskCodeOf, readOnlyMkdir } from '../util/disk-errors.js';
import type { Remote, RemoteContext } from './types.js';

/**
 * Wraps a remote so that a full or read-only disk met while checking or fetching is reported
 * as a `DiskError` naming the directory that could not be written (the cache, or the releases
 * directory being filled), whatever kind of remote and whatever layer hit it.
 */
export function withDiskErrors(remote: Remote): Remote {
  const guarded: Remote = {
    kind: remote.kind,
    display: remote.display,
    check: (ctx) => guard(() => remote.check(ctx), [ctx.cacheDir]),
    fetch: (version, into, ctx) => guard(() => remote.fetch(version, into, ctx), [dirname(into), ctx.cacheDir]),
  };
  const contentIdOf = remote.contentIdOf?.bind(remote);
  if (contentIdOf) guarded.contentIdOf = (version: string, ctx: RemoteContext) => guard(() => contentIdOf(version, ctx), [ctx.cacheDir]);
  const probe = remote.probe?.bind(remote);
  if (probe) guarded.probe = (ctx: RemoteContext) => guard(() => probe(ctx), [ctx.cacheDir]);
  // Memory only: nothing to guard.
  if (remote.handOverResolved) guarded.handOverResolved = remote.handOverResolved.bind(remote);
  if (remote.adoptResolved) guarded.adoptResolved = remote.adoptResolved.bind(remote);
  return guarded;
}

/**
 * Runs `operation`; a disk failure not yet named becomes a `DiskError` about the directory of
 * `dirs` that holds the failing path, or else about the one with the least room left (a failed
 * write(2) carries no path).
 */
async function guard<T>(operation: () => Promise<T>, dirs: string[]): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    const code = diskCodeOf(error) ?? (await readOnlyMkdir(error));
    if (!code || error instanceof DiskError) throw error;
    const path = pathOf(error);
    const owner = path ? dirs.find((d) => path === d || path.startsWith(`${d}/`)) : undefined;
    throw new DiskError(code, owner ?? (await leastRoom(dirs, code)), { cause: error });
  }
}

/** The `path` of an errno error or of one of its causes. */
function pathOf(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const path = (e as NodeJS.ErrnoException).path;
    if (typeof path === 'string') return path;
  }
  return undefined;
}

/** Of `dirs`, the one on a read-only filesystem (EROFS), or else the one with the least room. */
async function leastRoom(dirs: string[], code: string): Promise<string> {
  if (code === 'EROFS') {
    for (const dir of dirs) {
      // access(2) answers EROFS for a write check on a read-only mount.
      if (await access(dir, constants.W_OK).then(() => false, (e: NodeJS.ErrnoException) => e.code === 'EROFS')) return dir;
    }
  }
  let best = dirs[0]!;
  let bestFree = Infinity;
  for (const dir of dirs) {
    try {
      const fs = await statfs(dir);
      if (fs.bavail * fs.bsize < bestFree) [best, bestFree] = [dir, fs.bavail * fs.bsize];
    } catch {
      // A directory that is not there (yet) cannot be the one that is full.
    }
  }
  return best;
}
