import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cloneFiles, type CloneJob } from './clone.js';
import type { PlannedFile } from './manifest.js';
import { listReleaseFiles, reusableFiles, type ReleaseFiles } from './release-files.js';

/**
 * The git checkout's side of reusing the current release: a blob whose path, id and mode
 * equal a file the current release recorded is cloned from it; git checks out the rest.
 */

/** One record of `git ls-tree -r -z`: mode, type, object id, path (latin1: one char per byte). */
export interface TreeRecord {
  mode: string;
  type: string;
  id: string;
  path: string;
}

/** What is left for git to check out, and what was cloned. */
export interface GitReuse {
  /** The records still to check out (symlinks, submodules and changed files). */
  rest: TreeRecord[];
  reusedFiles: number;
  reusedBytes: number;
  /** Lists the files for the release's manifest: once git wrote the rest (a nearly full disk serves the release first). */
  list(): Promise<void>;
}

/**
 * Clones the tree's regular files the current release holds unchanged into `into` (creating
 * their directories). Paths that are not valid
 * UTF-8 are left to git: only it writes such names byte for byte.
 */
export async function cloneUnchangedBlobs(records: readonly TreeRecord[], reuse: ReleaseFiles, into: string, signal?: AbortSignal): Promise<GitReuse> {
  const files = new Map<TreeRecord, PlannedFile>();
  for (const record of records) {
    if (record.type !== 'blob' || (record.mode !== '100644' && record.mode !== '100755')) continue;
    const path = utf8Of(record.path);
    if (path !== undefined) files.set(record, { path, hash: record.id, mode: record.mode === '100755' ? 0o755 : 0o644 });
  }
  const list = () => listReleaseFiles(reuse, 'git', [...files.values()]);
  const previous = await reusableFiles(reuse, 'git');
  if (!previous || !reuse.current) return { rest: [...records], reusedFiles: 0, reusedBytes: 0, list };
  const jobs: CloneJob[] = [];
  const made = new Set<string>();
  for (const file of files.values()) {
    const recorded = previous.get(file.path);
    // An empty file costs git less to write than us to clone.
    if (!recorded || recorded.hash !== file.hash || recorded.mode !== file.mode || recorded.size === '0') continue;
    const parent = dirname(file.path);
    if (parent !== '.' && !made.has(parent)) {
      // Directories as checkout-index makes them (0777 less the umask; the caller normalises).
      mkdirSync(join(into, parent), { recursive: true });
      made.add(parent);
    }
    jobs.push({ path: file.path, recorded });
  }
  const cloned = await cloneFiles(jobs, {
    from: reuse.current.dir,
    into,
    ...(reuse.hardlinks ? { hardlinks: true } : {}),
    ...(signal ? { signal } : {}),
  });
  const rest = records.filter((r) => !cloned.cloned.has(files.get(r)?.path ?? ''));
  return { rest, reusedFiles: cloned.cloned.size, reusedBytes: cloned.bytes, list };
}

/** The UTF-8 text of a latin1 path; undefined when its bytes are not valid UTF-8. */
export function utf8Of(latin1: string): string | undefined {
  const bytes = Buffer.from(latin1, 'latin1');
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : undefined;
}
