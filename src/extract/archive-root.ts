import { VerificationError } from '../errors.js';
import type { ExtractPlan, PlannedEntry } from './plan.js';

/**
 * Parses the `archive-root` key: `auto` (the single top-level directory) or a relative path
 * inside the archive, normalised to `a/b` (no leading or trailing slash, no `.`/`..`).
 */
export function parseArchiveRoot(raw: string): { ok: true; value: string } | { ok: false; accepted: string } {
  const accepted = 'auto, or a relative directory inside the archive such as app-main or build/web (no "..", not absolute)';
  const value = raw.trim();
  if (value === 'auto') return { ok: true, value };
  if (value.startsWith('/') || value.includes('\\')) return { ok: false, accepted };
  const segments = value.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.length === 0 || segments.includes('..')) return { ok: false, accepted };
  return { ok: true, value: segments.join('/') };
}

/**
 * Narrows a plan to one directory of the archive, which becomes the release's root: `root` is
 * a path from `parseArchiveRoot`, or `auto` for the only top-level directory (GitHub and
 * GitLab source archives put everything under `app-main/`). Every rule has already been
 * applied to the whole archive; links are checked afterwards against the narrowed tree, so
 * one leading out of the root is refused like one leading out of the release.
 */
export function narrowPlan(plan: ExtractPlan, root: string, archive: string): ExtractPlan {
  const fail = (why: string) => new VerificationError(`archive-root = ${root}: zip ${archive} ${why}`);
  let dir = root;
  if (root === 'auto') {
    const top = new Set([...plan.dirs, ...plan.files.map((f) => f.path), ...plan.links.map((l) => l.path)].map((p) => p.split('/')[0]!));
    const names = [...top].sort();
    if (names.length !== 1 || !plan.dirs.includes(names[0]!)) {
      const shown = names.slice(0, 5).map((n) => JSON.stringify(n)).join(', ') + (names.length > 5 ? ', ...' : '');
      throw fail(`has ${names.length === 1 ? 'one top-level file' : `${names.length} top-level entries`} (${shown || 'none'}), not one directory: set archive-root to a path, or remove the key to deploy the whole archive`);
    }
    dir = names[0]!;
  } else if (!plan.dirs.includes(dir)) {
    const what = plan.files.some((f) => f.path === dir) || plan.links.some((l) => l.path === dir) ? 'has a file, not a directory, at' : 'has no directory';
    throw fail(`${what} ${JSON.stringify(dir)}: give a directory of the archive, or auto`);
  }
  const prefix = `${dir}/`;
  const inside = (entries: readonly PlannedEntry[]) =>
    entries.filter((e) => e.path.startsWith(prefix)).map((e) => ({ ...e, path: e.path.slice(prefix.length) }));
  return {
    dirs: plan.dirs.filter((d) => d.startsWith(prefix)).map((d) => d.slice(prefix.length)),
    dirEntries: inside(plan.dirEntries),
    files: inside(plan.files),
    links: inside(plan.links),
  };
}
