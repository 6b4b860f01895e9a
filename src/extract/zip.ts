import { chmodSync, closeSync, mkdirSync, openSync, symlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import type { Limits } from '../config/types.js';
import { VerificationError } from '../errors.js';
import { narrowPlan } from './archive-root.js';
import { readCentralDirectory, type CentralDirectory } from './central-directory.js';
import { readAt } from './read-at.js';
import { readLocalHeader } from './local-header.js';
import { readLinkTargets } from './links.js';
import { planExtraction, type ExtractPlan } from './plan.js';
import { writeFiles } from './write-files.js';
import { cloneUnchangedEntries, listZipFiles, type ZipReuse } from '../reuse/zip-reuse.js';
import type { ReleaseFiles } from '../reuse/release-files.js';
import { emptyDir } from '../util/empty-dir.js';

/** Options for `extractZip`. */
export interface ExtractOptions {
  /** Bounds on entries and unpacked size; exceeding one rejects the archive. */
  limits: Limits;
  /** Stops the extraction promptly when aborted; the promise rejects with the abort reason. */
  signal?: AbortSignal;
  /** Deploy only this directory of the archive (`archive-root`), or `auto` for its single top-level one. */
  root?: string;
  /** Keep symlinks that lead outside `dest` (`allow-external-links`). */
  allowExternalLinks?: boolean;
  /** Clone the current release's unchanged files instead of inflating them, and list the files written. */
  releaseFiles?: ReleaseFiles;
}

/** What an extraction wrote. */
export interface ExtractResult {
  /** Regular files written. */
  files: number;
  /** Bytes written (inflated; cloned files not included). */
  bytes: number;
  /** With `releaseFiles`: of `files`, how many were cloned from the current release, and their bytes. */
  reusedFiles?: number;
  reusedBytes?: number;
}

/**
 * Extracts the zip at `archive` into `dest` (an existing, empty directory), streaming and with
 * bounded memory; zip64 archives work. Files are 0755 when the unix attributes give them an
 * execute bit, 0644 otherwise; directories 0755; symlinks that stay inside `dest` are kept.
 *
 * Rejects the whole archive with `VerificationError` for unsafe paths, links leading outside
 * `dest`, paths through links, duplicates, limits exceeded, encryption, unsupported methods or
 * corrupt data; the caller removes `dest` then. Everything that can be judged from the central
 * directory and the link targets is judged before the first byte is written.
 */
export async function extractZip(archive: string, dest: string, options: ExtractOptions): Promise<ExtractResult> {
  const prepared = await prepareExtraction(archive, dest, options);
  try {
    return await prepared.finish(options);
  } finally {
    prepared.close();
  }
}

/**
 * An extraction halfway: its archive open, judged and planned, the directories made and the
 * current release's unchanged files cloned (`prepareExtraction`). Nothing of the archive's own
 * content is written yet, only names, so it can run while the archive is still being verified:
 * a delta download starts it as soon as the rebuilt archive's bytes are in place.
 */
export class PreparedExtraction {
  private open = true;

  constructor(
    /** The archive as opened (its file may be renamed meanwhile: the descriptor stays). */
    readonly archive: string,
    readonly dest: string,
    private readonly fd: number,
    private readonly cd: CentralDirectory,
    private readonly plan: ExtractPlan,
    private readonly targets: Map<string, string>,
    private readonly reuse: ZipReuse,
  ) {}

  /** The second half of `extractZip`: writes the archive's content. The caller closes. */
  async finish(options: ExtractOptions): Promise<ExtractResult> {
    if (!this.open) throw new Error(`the extraction of ${this.archive} was closed before it was finished`);
    const { limits, signal } = options;
    const { archive, dest, fd, cd, plan, reuse } = this;
    const written = await writeFiles(reuse.rest, {
      fd,
      archive,
      dest,
      dataEnd: cd.dataEnd,
      maxUnpackedBytes: limits.maxUnpackedBytes,
      ...(signal ? { signal } : {}),
    });
    signal?.throwIfAborted();

    await listZipFiles(plan.files, options.releaseFiles);
    // Symlinks last: no file is ever written after a link exists, so none can go through one.
    for (const link of plan.links) symlinkSync(this.targets.get(link.path)!, join(dest, link.path));
    // Directory times last of all (creating anything inside changes them), deepest first.
    const read = (offset: number, length: number) => readAt(fd, offset, length);
    for (const dir of [...plan.dirEntries].sort((a, b) => (a.path < b.path ? 1 : -1))) {
      const { mtime } = readLocalHeader(dir.entry, read, cd.dataEnd, archive);
      if (mtime) utimesSync(join(dest, dir.path), mtime, mtime);
    }
    const reused = options.releaseFiles ? { reusedFiles: reuse.reusedFiles, reusedBytes: reuse.reusedBytes } : {};
    return { files: plan.files.length, bytes: written.bytes, ...reused };
  }

  /** Closes the archive (again is a no-op). */
  close(): void {
    if (this.open) closeSync(this.fd);
    this.open = false;
  }
}

/** Closes `prepared` and empties its release directory (another archive is extracted there instead); undefined, to assign. */
export async function discardPrepared(prepared: PreparedExtraction | undefined): Promise<undefined> {
  if (!prepared) return undefined;
  prepared.close();
  await emptyDir(prepared.dest);
  return undefined;
}

/** The first half of `extractZip`: opens, reads and judges the archive, makes the directories, clones unchanged files. */
export async function prepareExtraction(archive: string, dest: string, options: ExtractOptions): Promise<PreparedExtraction> {
  const { limits, signal } = options;
  signal?.throwIfAborted();
  let fd: number;
  try {
    fd = openSync(archive, 'r');
  } catch (error) {
    throw new VerificationError(`cannot open zip ${archive}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const cd = readCentralDirectory(fd, archive, limits.maxEntries);
    const whole = planExtraction(cd, archive, limits);
    const plan = options.root ? narrowPlan(whole, options.root, archive) : whole;
    const targets = readLinkTargets(fd, plan.links, cd.dataEnd, archive, options.allowExternalLinks);
    signal?.throwIfAborted();

    // Directories first, parents before children (the plan is sorted), so each file is one
    // open(2) with no mkdir -p on the way. Every directory is 0755, whatever the archive says:
    // a world-writable or setgid directory from a remote is no one's intent worth keeping.
    for (const dir of plan.dirs) mkdirSync(join(dest, dir), 0o755);
    // A narrow umask (077) would make implied directories unreadable to the app's user.
    if ((0o755 & ~process.umask()) !== 0o755) for (const dir of plan.dirs) chmodSync(join(dest, dir), 0o755);
    const reuse = await cloneUnchangedEntries(plan.files, options.releaseFiles, { fd, archive, dataEnd: cd.dataEnd, dest, ...(signal ? { signal } : {}) });
    return new PreparedExtraction(archive, dest, fd, cd, plan, targets, reuse);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}
