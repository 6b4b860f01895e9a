import { constants, copyFileSync, linkSync, lstatSync, unlinkSync, utimesSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import type { RecordedFile } from './manifest.js';

/**
 * One clone of `cloneFiles`, in synchronous calls: run on worker threads for a release's
 * thousands of files, on the calling thread for a few. A source file is cloned only when its
 * stat data still equals what was recorded when its release was published, checked after the
 * copy: a file edited in place since (or while it was copied) is written from the source
 * instead.
 */

/** A clone as the threads get it: the new file's modification time already read (ms). */
export interface CloneTask {
  path: string;
  recorded: RecordedFile;
  mtimeMs?: number;
}

/** Where clones go from and to; see `CloneOptions`. */
export interface CloneWhere {
  from: string;
  into: string;
  hardlinks?: boolean;
}

// A new file never replaces anything, and never a symlink (EXCL refuses any existing name).
const copyMode = constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL;

/** Clones `tasks` in order; returns the paths cloned (the others have nothing at their path). */
export function cloneBatch(tasks: readonly CloneTask[], where: CloneWhere): string[] {
  return tasks.filter((task) => cloneOne(task, where)).map((task) => task.path);
}

/** Clones one file; false (and nothing at the destination) when its source is not as recorded. */
function cloneOne(task: CloneTask, where: CloneWhere): boolean {
  const src = join(where.from, task.path);
  const dst = join(where.into, task.path);
  const hardlinks = where.hardlinks === true;
  const mtime = task.mtimeMs;
  // A hard link shares the inode's times: only when they are already the ones wanted.
  if (hardlinks && (mtime === undefined || BigInt(mtime) * 1_000_000n === BigInt(task.recorded.mtimeNs)) && linked(src, dst)) {
    if (unchangedSince(statOrNone(src), task.recorded, true)) return true;
    unlinkSync(dst);
    return false;
  }
  try {
    copyFileSync(src, dst, copyMode);
  } catch (error) {
    // Removed since it was recorded: written from the source instead, like any changed file.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !statOrNone(src)) return false;
    throw error;
  }
  // The copy has the source's mode already (copyFile sets it whatever the umask).
  // As a Date: a number before 1970 would be taken for "now".
  if (mtime !== undefined) utimesSync(dst, new Date(mtime), new Date(mtime));
  if (unchangedSince(statOrNone(src), task.recorded, hardlinks)) return true;
  unlinkSync(dst);
  return false;
}

/** Hard links `src` at `dst`; false when the filesystem refuses (another one, too many links). */
function linked(src: string, dst: string): boolean {
  try {
    linkSync(src, dst);
    return true;
  } catch {
    return false;
  }
}

/**
 * lstat with nanoseconds; undefined when nothing is there. Synchronous on purpose: for a file
 * whose metadata is in memory (one just copied, one just listed) the thread pool's round trip
 * costs more than the call itself (20,000 stats: 110 ms here, 300 ms through the pool).
 */
export function statOrNone(path: string): BigIntStats | undefined {
  try {
    return lstatSync(path, { bigint: true, throwIfNoEntry: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/**
 * True when `st` is a regular file with the mode and stat data recorded at publish: size,
 * modification time, inode, and (unless hard links share inodes) the change time, which
 * moves on any write, chmod or chown even when a tool puts the modification time back.
 */
export function unchangedSince(st: BigIntStats | undefined, recorded: RecordedFile, ignoreCtime = false): boolean {
  if (!st || !st.isFile()) return false;
  if (Number(st.mode & 0o7777n) !== recorded.mode) return false;
  if (`${st.size}` !== recorded.size || `${st.mtimeNs}` !== recorded.mtimeNs || `${st.ino}` !== recorded.ino) return false;
  return ignoreCtime || `${st.ctimeNs}` === recorded.ctimeNs;
}
