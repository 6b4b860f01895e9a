import type { PlannedEntry } from '../extract/plan.js';
import { readAt } from '../extract/read-at.js';
import { readLocalHeader } from '../extract/local-header.js';
import { cloneFiles, type CloneJob } from './clone.js';
import { listReleaseFiles, reusableFiles, type ReleaseFiles } from './release-files.js';

/**
 * The zip extractor's side of reusing the current release: an entry whose name, CRC-32, size
 * and mode equal a file the current release recorded is cloned from it rather than inflated.
 */

/** Where the entries come from and go to. */
export interface ZipReuseContext {
  /** The open archive. */
  fd: number;
  archive: string;
  /** Offset where the central directory starts. */
  dataEnd: number;
  /** The release being written; every directory of the plan exists already. */
  dest: string;
  signal?: AbortSignal;
}

/** What is left to inflate, and what was cloned. */
export interface ZipReuse {
  /** The entries still to write, in the order given. */
  rest: PlannedEntry[];
  reusedFiles: number;
  reusedBytes: number;
}

/**
 * Clones the entries of `files` the current release holds unchanged (with the new entry's modification time, as inflating it would have set).
 */
export async function cloneUnchangedEntries(files: readonly PlannedEntry[], reuse: ReleaseFiles | undefined, ctx: ZipReuseContext): Promise<ZipReuse> {
  if (!reuse) return { rest: [...files], reusedFiles: 0, reusedBytes: 0 };
  const previous = await reusableFiles(reuse, 'zip');
  if (!previous || !reuse.current) return { rest: [...files], reusedFiles: 0, reusedBytes: 0 };
  // Straight reads, not the extractor's window: only the few bytes of each header are wanted.
  const read = (offset: number, length: number) => readAt(ctx.fd, offset, length);
  const jobs: CloneJob[] = [];
  for (const file of files) {
    const recorded = previous.get(file.path);
    const { entry } = file;
    // An empty file costs less to create than to clone.
    if (!recorded || entry.uncompressedSize === 0) continue;
    if (recorded.hash !== crcHex(entry.crc32) || recorded.mode !== file.mode || recorded.size !== String(entry.uncompressedSize)) continue;
    // The local header is checked as a full extraction would, and gives the entry's time.
    jobs.push({ path: file.path, recorded, mtime: () => readLocalHeader(entry, read, ctx.dataEnd, ctx.archive).mtime });
  }
  const cloned = await cloneFiles(jobs, {
    from: reuse.current.dir,
    into: ctx.dest,
    ...(reuse.hardlinks ? { hardlinks: true } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  return { rest: files.filter((f) => !cloned.cloned.has(f.path)), reusedFiles: cloned.cloned.size, reusedBytes: cloned.bytes };
}

/**
 * Lists `files` for the release's manifest; called once they are written, so that on a nearly
 * full disk the release's own files get the space first.
 */
export async function listZipFiles(files: readonly PlannedEntry[], reuse: ReleaseFiles | undefined): Promise<void> {
  if (reuse) await listReleaseFiles(reuse, 'zip', files.map((f) => ({ path: f.path, hash: crcHex(f.entry.crc32), mode: f.mode })));
}

function crcHex(crc: number): string {
  return (crc >>> 0).toString(16).padStart(8, '0');
}
