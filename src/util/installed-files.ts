import { lstatSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Whether repo-deploy's own installed files changed since this process took their fingerprint
 * (an upgrade without a restart). The daemon starts a child for each fetch from the
 * files on disk; after an upgrade those would be the new version's modules, talking to a parent
 * running the old ones (job format, log relay, error classes). The daemon takes the
 * fingerprint at start and asks before each child; once the files changed, it stays changed.
 */

/** The compiled modules' directory (`dist/`, or `src/` under tsx) and the package root. */
const codeDir = fileURLToPath(new URL('..', import.meta.url));
const packageRoot = fileURLToPath(new URL('../..', import.meta.url));

/** What changed, as the warning and `status` report it. */
export interface InstalledFilesChange {
  /** When this process noticed. */
  since: string;
  /** Paths relative to the package root, at most a few. */
  files: string[];
}

let taken: Map<string, string> | undefined;
let lastScanAt = 0;
let change: InstalledFilesChange | undefined;
const listeners: Array<(change: InstalledFilesChange) => void> = [];

/**
 * Takes the fingerprint of the installed files now (the daemon, at start) and calls `onChange`
 * once when `installedFilesChanged` first finds them changed. Later calls keep the first
 * fingerprint: what this process runs is what it loaded at start.
 */
export function watchInstalledFiles(onChange?: (change: InstalledFilesChange) => void): void {
  if (!taken) {
    taken = fingerprint();
    lastScanAt = Date.now();
  }
  if (onChange) listeners.push(onChange);
}

/**
 * The change, if the files differ from the fingerprint (undefined without one: a `-f` run
 * never takes it). About 90 `lstat` calls, far less than the child start-up it guards.
 */
export function installedFilesChanged(options: { maxAgeMs?: number } = {}): InstalledFilesChange | undefined {
  if (change || !taken) return change;
  // Before a child starts the answer must be fresh (a child from new files is the danger); the
  // daemon's per-check ask, for `status`, takes one that is a few seconds old, so many apps or
  // a one-second schedule do not make scanning most of its idle work.
  if (options.maxAgeMs && Date.now() - lastScanAt < options.maxAgeMs) return undefined;
  lastScanAt = Date.now();
  const now = fingerprint();
  const files = [...new Set([...taken.keys(), ...now.keys()])].filter((f) => taken!.get(f) !== now.get(f));
  if (!files.length) return undefined;
  change = { since: new Date().toISOString(), files: files.slice(0, 5) };
  for (const listener of listeners) listener(change);
  return change;
}

/**
 * Device, inode, size and modification time of `package.json` and every module under the code
 * directory, and the identity of the package root. A package manager that replaces the whole
 * directory changes the root's inode; one that rewrites files changes theirs.
 */
function fingerprint(): Map<string, string> {
  const seen = new Map<string, string>();
  const add = (path: string) => {
    try {
      const st = lstatSync(path, { bigint: true });
      // A directory's times change with any entry made in it; its identity is what counts.
      seen.set(relative(packageRoot, path) || '.', st.isDirectory() ? `${st.dev}:${st.ino}` : `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`);
    } catch {
      seen.set(relative(packageRoot, path) || '.', 'missing');
    }
  };
  add(packageRoot);
  add(join(packageRoot, 'package.json'));
  let names: string[] = [];
  try {
    names = readdirSync(codeDir, { recursive: true, encoding: 'utf8' });
  } catch {
    // The directory gone: the root's entry already differs.
  }
  for (const name of names) if (/\.(js|mjs|ts)$/.test(name) && !name.endsWith('.d.ts')) add(join(codeDir, name));
  return seen;
}
