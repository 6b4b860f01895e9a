import { constants, lstatSync, type BigIntStats } from 'node:fs';
import { copyFile, link, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordedFile } from './manifest.js';
import { inParallel } from '../util/in-parallel.js';

/**
 * Cloning the files of the current release that a new release holds unchanged: a reflink
 * where the filesystem has them (btrfs, XFS: no data is copied), a copy otherwise, or with
 * `reuse-hardlinks` a hard link. A source file is cloned only when its stat data still equals
 * what was recorded when its release was published, checked before and after the copy: a file
 * edited in place since (or while it was copied) is written from the source instead.
 */

/** One file to clone: the release path, and what its release recorded about it. */
export interface CloneJob {
  path: string;
  /** What the current release's manifest says; its mode is the new file's mode too. */
  recorded: RecordedFile;
  /**
   * How to find the modification time the new file must have (zip), asked when the file's turn
   * comes (reading it overlaps the clones in flight); none, or undefined from it: the time of
   * the copy (git).
   */
  mtime?: () => Date | undefined;
}

/** Options for `cloneFiles`. */
export interface CloneOptions {
  /** The current release's directory. */
  from: string;
  /** The new release's directory; the parents of every job already exist there. */
  into: string;
  /**
   * Hard link instead of copying when the times allow it. The link count's change moves the
   * inode's ctime, so ctime is not compared in this mode (see `unchangedSince`).
   */
  hardlinks?: boolean;
  signal?: AbortSignal;
}

/** What `cloneFiles` did. */
export interface CloneResult {
  /** Paths cloned. */
  cloned: Set<string>;
  /** Bytes the cloned files hold (not written). */
  bytes: number;
}

/**
 * Clones at once: a copy and the new file's times on the thread pool each, the source's stat
 * here. 16 keep the pool's four threads busy (20,000 small files on ext4: 8 and 16 within a
 * few percent of each other, 16 ahead; 32 gained nothing).
 */
const inFlight = 16;
// A new file never replaces anything, and never a symlink (EXCL refuses any existing name).
const copyMode = constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL;

/**
 * Clones every job it can and returns the paths it cloned; the others are left for the
 * caller to write (nothing is left at their path).
 */
export async function cloneFiles(jobs: readonly CloneJob[], options: CloneOptions): Promise<CloneResult> {
  const result: CloneResult = { cloned: new Set(), bytes: 0 };
  await inParallel(jobs, inFlight, async (job) => {
    options.signal?.throwIfAborted();
    if (await cloneOne(job, options)) {
      result.cloned.add(job.path);
      result.bytes += Number(job.recorded.size);
    }
  });
  return result;
}

/**
 * Clones one file; false (and nothing at the destination) when its source is not as recorded.
 * The source is judged after the copy: a change before or during it shows in its stat data.
 */
async function cloneOne(job: CloneJob, options: CloneOptions): Promise<boolean> {
  const src = join(options.from, job.path);
  const dst = join(options.into, job.path);
  const hardlinks = options.hardlinks === true;
  const recordedTime = BigInt(job.recorded.mtimeNs);
  const mtime = job.mtime?.();
  // A hard link shares the inode's times: only when they are already the ones wanted.
  if (hardlinks && (!mtime || BigInt(mtime.getTime()) * 1_000_000n === recordedTime) && (await linked(src, dst))) {
    if (unchangedSince(statOrNone(src), job.recorded, true)) return true;
    await unlink(dst);
    return false;
  }
  try {
    await copyFile(src, dst, copyMode);
  } catch (error) {
    // Removed since it was recorded: written from the source instead, like any changed file.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !statOrNone(src)) return false;
    throw error;
  }
  // The copy has the source's mode already (copyFile sets it whatever the umask).
  if (mtime) await utimes(dst, mtime, mtime);
  if (unchangedSince(statOrNone(src), job.recorded, hardlinks)) return true;
  await unlink(dst);
  return false;
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

/** Hard links `src` at `dst`; false when the filesystem refuses (another one, too many links). */
async function linked(src: string, dst: string): Promise<boolean> {
  try {
    await link(src, dst);
    return true;
  } catch {
    return false;
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
