import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/**
 * The two kinds of permissions the agent hands out, whatever the umask it was started with:
 * releases are readable by everyone and writable by no one but their owner (the app's user
 * must read them, and no local user may change code that root runs); state, pid files and the
 * cache are the agent's own (they hold private archives, git mirrors and failed versions).
 */

/** Mode of every directory of a release. */
export const releaseDirMode = 0o755;
/** Mode of the agent's private directories (state, cache). */
export const privateDirMode = 0o700;
/** Mode of the agent's private files. */
export const privateFileMode = 0o600;

/**
 * Mode of a release file from the mode its source gave it: 0755 when any execute bit is set,
 * 0644 otherwise. Nothing else is kept: group or world write would let any local user change
 * the code, and setuid/setgid from a remote would be a root-owned setuid binary chosen by
 * whoever controls the remote.
 */
export function releaseFileMode(sourceMode: number): number {
  return sourceMode & 0o111 ? 0o755 : 0o644;
}

/**
 * Creates `dir` private to the agent's user, and tightens it when it already exists: a cache
 * or state directory made by an older version, or under a loose umask, becomes private too,
 * and with it everything below. Missing parents are made private as well, or readable with
 * `readableParents` (the deploy directory above `.repo-deploy/` holds the releases).
 */
export async function makePrivateDir(dir: string, options: { readableParents?: boolean } = {}): Promise<void> {
  if (options.readableParents) await makeReadableDir(dirname(dir));
  await mkdir(dir, { recursive: true, mode: privateDirMode });
  await chmod(dir, privateDirMode);
}

/**
 * Creates `dir` and its missing parents readable by everyone (0755 whatever the umask), for
 * the path from the deploy directory down to a release. Directories that already exist are
 * left as the operator made them.
 */
export async function makeReadableDir(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: releaseDirMode });
  if (created === undefined) return;
  // mkdir -p returns the topmost directory it created; every one from there down is ours,
  // and nothing above it is touched.
  const first = resolve(created);
  for (let at = resolve(dir); at.startsWith(first); at = dirname(at)) {
    await chmod(at, releaseDirMode);
    if (at === first) break;
  }
}

/**
 * Sets the release modes on every entry under `root` (root included), for content written by
 * a tool that follows the umask (git checkout-index). Symlinks are left alone: their mode
 * means nothing and chmod would follow them.
 */
export async function normaliseReleaseModes(root: string): Promise<void> {
  const st = await lstat(root);
  if (st.isSymbolicLink()) return;
  const want = st.isDirectory() ? releaseDirMode : releaseFileMode(st.mode);
  if ((st.mode & 0o7777) !== want) await chmod(root, want);
  if (!st.isDirectory()) return;
  // A directory's entries together: one at a time costs a thread-pool round trip per file.
  await Promise.all((await readdir(root)).map((name) => normaliseReleaseModes(join(root, name))));
}
