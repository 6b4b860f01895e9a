import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { messageOf } from '../errors.js';
import { manifestPathOf, readManifest, sealManifest, statPlannedFiles, writeManifest, type Manifest, type ManifestKind, type PlannedFile, type RecordedFile } from './manifest.js';

/**
 * The seam between the pipeline and the writers of releases (zip extraction, git checkout) for
 * reusing the current release's unchanged files. The pipeline says where the current release
 * is and where to leave the list of files written; the writer clones what it can; the pipeline
 * records the list with its stat data once the release is published (`recordReleaseFiles`).
 */

/** What a fetch gets to reuse the current release's files and to list the new release's. */
export interface ReleaseFiles {
  /**
   * Where the writer leaves the list of regular files it wrote (a file beside the staging
   * directory, removed with it), for the pipeline to record when it publishes the release.
   */
  record: string;
  /** The current release to clone unchanged files from; absent: every file is written. */
  current?: {
    /** Its directory. */
    dir: string;
    /** Its manifest (`releases/.<id>.files`); a missing one means every file is written. */
    manifest: string;
  };
  /** Hard link unchanged files instead of copying them (`reuse-hardlinks = true`). */
  hardlinks?: boolean;
}

/** Settings of one app that decide the reuse. */
export interface ReuseSettings {
  /** `reuse-files` (default true). */
  reuseFiles: boolean;
  /** `reuse-hardlinks` (default false). */
  reuseHardlinks: boolean;
}

/** Where the fetch into `staging` lists the files it writes, until the release's manifest is recorded. */
function plannedListOf(staging: string): string {
  return `${staging}.files`;
}

/**
 * What the fetch into `staging` gets: the current release (when there is one and reuse is on)
 * and where to list the files it writes. The list is made even with reuse off, so the release
 * after the one that turns it back on can reuse.
 */
export function releaseFilesFor(settings: ReuseSettings, releasesDir: string, staging: string, currentId: string | null | undefined): ReleaseFiles {
  const files: ReleaseFiles = { record: plannedListOf(staging) };
  if (settings.reuseFiles && currentId) files.current = { dir: join(releasesDir, currentId), manifest: manifestPathOf(releasesDir, currentId) };
  if (settings.reuseHardlinks) files.hardlinks = true;
  return files;
}

/**
 * Starts taking the stat data of the files listed for `staging`, for `recordReleaseFiles`:
 * only when nothing changes them between now and the swap (no `owner` to chown them), so it can
 * run while the release is flushed to disk. Never rejects: undefined when it could not (the
 * next release is then written whole).
 */
export function statStagedFiles(staging: string): Promise<Manifest | undefined> {
  return statPlannedFiles(plannedListOf(staging), staging).catch(() => undefined);
}

/**
 * Records the manifest of release `id`, just published from `staging` (and given to its owner):
 * each listed file with its stat data now, or as `staged` (from `statStagedFiles`) took it.
 * Never throws: without a manifest the next release is written whole, which is slower, never
 * wrong.
 */
export async function recordReleaseFiles(staging: string, releasesDir: string, id: string, logger: Logger, staged?: Promise<Manifest | undefined>): Promise<void> {
  const out = manifestPathOf(releasesDir, id);
  try {
    const files = await sealManifest(plannedListOf(staging), join(releasesDir, id), out, staged);
    if (files !== undefined) logger.debug({ release: id, files }, 'recorded the release files');
  } catch (error) {
    await rm(out, { force: true }).catch(() => undefined);
    logger.warn({ release: id, err: messageOf(error) }, 'could not record the release files: the next release is written whole');
  }
}

/** Removes a staging directory that will not be published, and the list of its files. */
export async function removeStaging(staging: string): Promise<void> {
  await rm(staging, { recursive: true, force: true });
  await rm(plannedListOf(staging), { force: true });
}

/**
 * Leaves the planned list of a release's regular files where the pipeline records it. A list
 * that cannot be written (a full disk) is no list: the release goes on, and the next one is
 * written whole; the write that fails next names the disk.
 */
export async function listReleaseFiles(files: ReleaseFiles, kind: ManifestKind, planned: PlannedFile[]): Promise<void> {
  try {
    await writeManifest(files.record, { kind, files: planned });
  } catch {
    await rm(files.record, { force: true }).catch(() => undefined);
  }
}

/**
 * The current release's files a writer of `kind` may clone, keyed by path; undefined when
 * there is no current release to reuse, or its manifest is missing (a release of an older
 * agent), unreadable, or of another kind.
 */
export async function reusableFiles(files: ReleaseFiles | undefined, kind: ManifestKind): Promise<Map<string, RecordedFile> | undefined> {
  if (!files?.current) return undefined;
  const manifest = await readManifest(files.current.manifest);
  return manifest?.kind === kind ? manifest.files : undefined;
}

/** Reuse figures as a fetch result's `detail` shows them (in logs, the release record and `status`). */
export function reuseDetail(reusedFiles: number, totalFiles: number, reusedBytes: number): Record<string, string> {
  return { filesReused: `${reusedFiles}/${totalFiles}`, bytesReused: String(reusedBytes) };
}
