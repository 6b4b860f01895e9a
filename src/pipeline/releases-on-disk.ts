import { lstat } from 'node:fs/promises';
import { readMeta, scanReleases, topEntries, writeMeta, type ReleaseMeta, type ReleaseSource } from '../release/release-meta.js';
import type { ReleaseStore } from '../release/store.js';
import type { AppState, ReleaseRecord } from './state.js';
import type { Reconciliation } from './transitions.js';

/**
 * Keeping the state honest about the disk. The state file is a cache of what each release
 * records beside itself (`releases/.<id>.json`); releases deleted by hand (or by a hook) must
 * not be served or reported as present, and a lost state file must not make the agent forget
 * its releases (it would redeploy the current version and never prune).
 */

/** What `reconcile` changed, for logs. */
export interface Reconciled {
  /** Records rebuilt from a release's own metadata (the state had lost them). */
  rebuilt: string[];
  /** Records dropped because their release directory is gone. */
  dropped: string[];
  /** Releases whose directory is gone but whose record (`.<id>.json`) or file list (`.<id>.files`) is there, for `removeOrphanRecords`. */
  orphanRecords: string[];
}

/**
 * Brings the releases of a state in line with the disk: adds the records of releases the state
 * does not know (from their metadata), drops those whose directory is gone. Changes nothing:
 * `view` holds the reconciled fields, for the `reconciled` transition.
 */
export async function reconcile(store: ReleaseStore, known: Readonly<AppState>): Promise<Reconciled & { view: Reconciliation }> {
  const state = structuredClone(known) as AppState;
  const view = (): Reconciliation => ({ releases: state.releases, current: state.current, previous: state.previous, hold: state.hold });
  const scan = await scanReleases(store.releasesDir);
  const onDisk = new Set(scan.releases);
  const result: Reconciled = { rebuilt: [], dropped: [], orphanRecords: scan.records.filter((id) => !onDisk.has(id)) };
  for (const id of onDisk) {
    if (state.releases[id] || state.inProgress?.releaseId === id) continue;
    const meta = await readMeta(store.releasesDir, id);
    // A pending record never settled (the state that tracked it is lost): not a good release.
    if (meta) {
      state.releases[id] = recordOf(meta, meta.status === 'good' ? 'good' : 'failed');
      result.rebuilt.push(id);
    }
  }
  for (const id of Object.keys(state.releases)) {
    if (onDisk.has(id) || state.inProgress?.releaseId === id) continue;
    delete state.releases[id];
    result.dropped.push(id);
  }
  if (state.current && !state.releases[state.current]) delete state.current;
  if (state.previous && !state.releases[state.previous]) delete state.previous;
  if (!state.current && result.rebuilt.length) {
    const link = await store.current();
    if (link.kind === 'release' && state.releases[link.id]) state.current = link.id;
  }
  if (!state.hold && state.current && result.rebuilt.length) {
    // A rollback's hold survives the loss of the state: it is kept in the held release's record.
    const hold = (await readMeta(store.releasesDir, state.current))?.hold;
    if (hold) state.hold = { releaseId: state.current, ...hold };
  }
  if (!state.previous && result.rebuilt.length) {
    // The revert and rollback target: the newest good release before the current one.
    const before = Object.entries(state.releases)
      .filter(([id, r]) => id !== state.current && r.status === 'good' && !r.adopted)
      .sort(([, a], [, b]) => a.createdAt.localeCompare(b.createdAt))
      .pop();
    if (before) state.previous = before[0];
  }
  return { ...result, view: view() };
}

/** Removes records and file lists whose release directory is gone (left by a crash or a hand deletion). */
export async function removeOrphanRecords(store: ReleaseStore, ids: readonly string[]): Promise<void> {
  for (const id of ids) await store.removeRecords(id);
}

/** Why release `id` cannot be served, or null when it is complete. */
export async function incompleteReason(store: ReleaseStore, id: string): Promise<string | null> {
  try {
    if (!(await lstat(store.pathOf(id))).isDirectory()) return `release ${id} is not a directory`;
  } catch {
    return `release ${id} is missing from ${store.releasesDir}`;
  }
  const meta = await readMeta(store.releasesDir, id);
  if (!meta) return null;
  const present = new Set(await topEntries(store.pathOf(id)));
  const lost = meta.entries.filter((name) => !present.has(name));
  if (lost.length) return `release ${id} is incomplete: ${lost.slice(0, 3).join(', ')}${lost.length > 3 ? ` and ${lost.length - 3} more` : ''} deleted`;
  return null;
}

/**
 * Releases that may be activated again: present, complete, and known to the state. The
 * current one is checked on every check; others only when a plan could reuse them.
 */
export async function intactReleases(store: ReleaseStore, state: AppState, ids: Iterable<string>): Promise<Set<string>> {
  const intact = new Set<string>();
  for (const id of ids) if (state.releases[id] && (await incompleteReason(store, id)) === null) intact.add(id);
  return intact;
}

/** Writes the metadata of a release the state knows but that has none (made by an older agent). */
export async function ensureMeta(store: ReleaseStore, id: string, record: ReleaseRecord, source: ReleaseSource, sourceKey: string): Promise<void> {
  if (await readMeta(store.releasesDir, id)) return;
  const entries = await topEntries(store.pathOf(id)).catch(() => null);
  if (!entries) return;
  await writeMeta(store.releasesDir, {
    id,
    version: record.version,
    source,
    sourceKey: record.sourceKey ?? sourceKey,
    ...(record.contentId ? { contentId: record.contentId } : {}),
    createdAt: record.createdAt,
    status: record.status,
    ...(record.detail ? { detail: record.detail } : {}),
    entries,
    ...(record.adopted ? { adopted: true } : {}),
  });
}

/** The state's record of a release, from its metadata. */
function recordOf(meta: ReleaseMeta, status: ReleaseRecord['status']): ReleaseRecord {
  return {
    version: meta.version,
    createdAt: meta.createdAt,
    status,
    sourceKey: meta.sourceKey,
    ...(meta.contentId ? { contentId: meta.contentId } : {}),
    ...(meta.detail ? { detail: meta.detail } : {}),
    ...(meta.adopted ? { adopted: true } : {}),
  };
}

/** Marks a release's metadata settled (good or failed), keeping the rest. */
export async function settleMeta(store: ReleaseStore, id: string, status: 'good' | 'failed'): Promise<void> {
  const meta = await readMeta(store.releasesDir, id);
  if (meta && meta.status !== status) await writeMeta(store.releasesDir, { ...meta, status });
}

/** Records (or clears, with undefined) a rollback's hold in the held release's own record. */
export async function recordHold(store: ReleaseStore, id: string, hold: ReleaseMeta['hold']): Promise<void> {
  const meta = await readMeta(store.releasesDir, id);
  if (!meta || (!hold && !meta.hold)) return;
  const { hold: _old, ...rest } = meta;
  await writeMeta(store.releasesDir, hold ? { ...rest, hold } : rest);
}
