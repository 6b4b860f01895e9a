import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RemoteError } from '../../errors.js';
import { definitiveError } from './mirror.js';
import { readLinkTargets, type ReleaseLinks } from './links.js';
import type { GitRunner } from './run.js';
import { cloneUnchangedBlobs, utf8Of, type TreeRecord } from '../../reuse/git-reuse.js';
import type { ReleaseFiles } from '../../reuse/release-files.js';

/**
 * Reading trees out of a bare mirror: the tree id of a subdirectory, and writing a tree into a
 * release directory with git's own checkout code (file modes, symlinks, path safety), without
 * a `.git` and without touching any work tree of the mirror.
 */

/** A submodule entry (gitlink) of a tree. */
export interface Gitlink {
  /** Path relative to the checked-out tree. */
  path: string;
  /** Commit the superproject pins. */
  commit: string;
}

/** What `checkoutTree` wrote. */
export interface CheckedOutTree {
  /** Regular files and symlinks written. */
  files: number;
  /** Submodules found in the tree (left as empty directories). */
  gitlinks: Gitlink[];
  /** Of `files`, how many were cloned from the current release, and their bytes. */
  reusedFiles: number;
  reusedBytes: number;
}

/**
 * Tree id of `subdir` at `commit` in the mirror. Throws `RemoteError` when the subdirectory is
 * missing or not a directory at that commit (or the mirror lacks objects: the caller rebuilds).
 */
export async function subdirTree(git: GitRunner, gitDir: string, commit: string, subdir: string, display: string): Promise<string> {
  // `commit:path^{tree}` would read `^{tree}` as part of the path: resolve, then check the type.
  const spec = subdir ? `${commit}:${subdir}` : `${commit}^{tree}`;
  const what = subdir ? `subdirectory "${subdir}"` : 'the tree';
  let id: string;
  try {
    id = (await git(['rev-parse', '--verify', '--quiet', spec], { gitDir })).trim();
  } catch (error) {
    throw new RemoteError(display, `${what} not found at commit ${commit}`, { cause: error });
  }
  const type = (await git(['cat-file', '-t', id], { gitDir })).trim();
  if (type !== 'tree') throw new RemoteError(display, `${what} at commit ${commit} is a ${type}, not a directory`);
  return id;
}

/** Where a tree goes in the release, for the symlink check. */
export interface TreePlace {
  /** The release's symlinks so far; this tree's are added and checked before checkout. */
  links: ReleaseLinks;
  /** Path of `into` relative to the release root (`''` = the root itself). */
  prefix: string;
  /** The root tree only: clone the current release's unchanged files, and list the files written. */
  reuse?: ReleaseFiles;
  signal?: AbortSignal;
}

/**
 * Writes `tree` into `into` (existing, empty). Uses a private index file in `scratchDir`, so the
 * mirror's own state is never involved and two checkouts never share an index. The tree's
 * symlinks are checked first (`place`): a link leading outside the release throws
 * `VerificationError` and nothing is written.
 */
export async function checkoutTree(
  git: GitRunner,
  gitDir: string,
  tree: string,
  into: string,
  scratchDir: string,
  place: TreePlace,
): Promise<CheckedOutTree> {
  // latin1: paths are bytes; see git-links.ts.
  const listing = await git(['ls-tree', '-r', '-z', '--full-tree', tree], { gitDir, local: true, encoding: 'latin1' });
  let files = 0;
  const gitlinks: Gitlink[] = [];
  const links = new Map<string, string>();
  const records: TreeRecord[] = [];
  for (const entry of listing.split('\0')) {
    const m = /^(\d+) (\w+) ([0-9a-f]+)\t(.*)$/s.exec(entry);
    if (!m) continue;
    records.push({ mode: m[1]!, type: m[2]!, id: m[3]!, path: m[4]! });
    if (m[2] === 'commit') gitlinks.push({ path: Buffer.from(m[4]!, 'latin1').toString('utf8'), commit: m[3]! });
    else if (m[2] === 'blob') {
      files += 1;
      if (m[1] === '120000') links.set(m[4]!, m[3]!);
    }
  }
  const targets = await readLinkTargets(git, gitDir, links);
  try {
    place.links.add(place.prefix, targets);
  } catch (error) {
    // A rebuilt mirror would hold the same tree: no retry.
    throw definitiveError(error as Error);
  }

  // Files the current release holds unchanged are cloned; git writes the rest.
  const reuse = place.reuse ? await cloneUnchangedBlobs(records, place.reuse, into, place.signal) : undefined;
  await writeEntries(git, gitDir, tree, into, scratchDir, reuse?.rest);
  await reuse?.list();
  return { files, gitlinks, reusedFiles: reuse?.reusedFiles ?? 0, reusedBytes: reuse?.reusedBytes ?? 0 };
}

/**
 * Checks out `tree` into `into` with a private index file in `scratchDir`, so the mirror's
 * own state is never involved and two checkouts never share an index: the whole tree, or only
 * the records of `only` (those the reuse left).
 */
async function writeEntries(git: GitRunner, gitDir: string, tree: string, into: string, scratchDir: string, only: TreeRecord[] | undefined): Promise<void> {
  if (only?.length === 0) return;
  // The index is fed as text: a path that is not valid UTF-8 makes it the whole tree again
  // (overwriting the clones with the same content).
  const lines = only?.map((r) => {
    const path = utf8Of(r.path);
    return path !== undefined && `${r.mode} ${r.type} ${r.id}\t${path}\0`;
  });
  const partial = lines && !lines.includes(false) ? lines.join('') : undefined;
  const index = join(scratchDir, `index-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const env = { GIT_INDEX_FILE: index, GIT_WORK_TREE: into };
    if (partial !== undefined) await git(['update-index', '-z', '--index-info'], { gitDir, env, local: true, input: partial });
    else await git(['read-tree', tree], { gitDir, env, local: true });
    // checkout-index refuses paths with `..` or `.git` and never writes through a symlink it
    // created, which is what keeps a hostile tree inside `into`.
    await git(['checkout-index', '--all', '--force'], { gitDir, env, local: true });
  } finally {
    await rm(index, { force: true });
  }
}
