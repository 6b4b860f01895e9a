import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isReleaseId } from './release-id.js';
import { writePrivateFileAtomic } from '../util/atomic-write.js';

/**
 * What a release was built from: the remote's kind, its location without credentials (URL,
 * subdirectory and ref), and every setting that changes the release's content. Two releases
 * of the same version from different sources are different releases.
 */
export interface ReleaseSource {
  /** Remote kind: `local`, `http`, `s3`, `git`. */
  kind: string;
  /** The remote's URL or path without credentials, subdirectory and ref included. */
  location: string;
  /** Content-changing settings (`git-submodules`, `owner`, …), as strings. */
  settings: Record<string, string>;
}

/**
 * The record a release carries beside itself (`releases/.<id>.json`), written before the
 * release is published and updated when it settles. The state file caches these; when the
 * state is lost it is rebuilt from them.
 */
export interface ReleaseMeta {
  id: string;
  version: string;
  source: ReleaseSource;
  /** `source` in a canonical form, compared for "same source". */
  sourceKey: string;
  contentId?: string;
  createdAt: string;
  /** `pending` until its post-update hooks settle it. */
  status: 'pending' | 'good' | 'failed';
  detail?: Record<string, string>;
  /**
   * Names at the top of the release when it was published: a release missing one of them
   * (deleted by hand or by a hook) is incomplete and is never made current.
   */
  entries: string[];
  /** A directory found at `current` before the first deploy. */
  adopted?: boolean;
  /** Set while a rollback holds this release as current (cleared by `resume` or a new version). */
  hold?: { fromVersions: string[]; at: string };
}

/** The canonical form of a source: equal keys mean the same content for the same version. */
export function sourceKeyOf(source: ReleaseSource): string {
  const settings = Object.keys(source.settings).sort().map((k) => [k, source.settings[k]]);
  return JSON.stringify([source.kind, source.location, settings]);
}

/** Path of the record of release `id`. */
export function metaPathOf(releasesDir: string, id: string): string {
  return join(releasesDir, `.${id}.json`);
}

/** Writes a release's record atomically (temp file, fsync, rename), private to the agent. */
export async function writeMeta(releasesDir: string, meta: ReleaseMeta): Promise<void> {
  await writePrivateFileAtomic(metaPathOf(releasesDir, meta.id), `${JSON.stringify(meta, null, 2)}\n`, { sync: true });
}

/** Reads the record of release `id`; undefined when it is missing or unreadable. */
export async function readMeta(releasesDir: string, id: string): Promise<ReleaseMeta | undefined> {
  try {
    const meta = JSON.parse(await readFile(metaPathOf(releasesDir, id), 'utf8')) as ReleaseMeta;
    return meta && typeof meta === 'object' && meta.id === id && typeof meta.version === 'string' ? meta : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One listing of a releases directory: the published releases (staging and other dot-names
 * excluded, as `ReleaseStore.list`) and the ids that have a record or a file list, whether or
 * not their directory still exists.
 */
export async function scanReleases(releasesDir: string): Promise<{ releases: string[]; records: string[] }> {
  let names: string[];
  try {
    names = await readdir(releasesDir);
  } catch {
    return { releases: [], records: [] };
  }
  // A release's file list (`.<id>.files`) counts too: one left beside a deleted release is swept with its record.
  const ids = names.map((n) => /^\.(.+)\.(?:json|files)$/.exec(n)?.[1]).filter((id): id is string => id !== undefined && isReleaseId(id));
  return { releases: names.filter((n) => !n.startsWith('.')).sort(), records: [...new Set(ids)].sort() };
}

/** The names at the top of a directory, sorted (what `entries` records). */
export async function topEntries(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}
