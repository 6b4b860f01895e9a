import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { RemoteError, messageOf } from '../../errors.js';
import { privateDirMode } from '../../util/modes.js';
import { isTimeoutOrAbort, type GitRunner } from './run.js';

/**
 * The bare mirror a git remote keeps in its cache directory: fetched shallow, one commit at a
 * time, and rebuilt without operator help when it is corrupt or belongs to another URL. It is
 * a cache, never a source of truth, so throwing it away is always safe.
 */

/** Where the fetched commit is kept, so `git gc` never prunes it between check and deploy. */
const fetchedRef = 'refs/repo-deploy/fetched';

/** Errors that rebuilding the mirror cannot fix (wrong subdirectory, ref moved): not retried. */
const definitive = new WeakSet<object>();

/** Marks `error` as one a rebuilt mirror would raise again, and returns it. */
export function definitiveError<E extends Error>(error: E): E {
  definitive.add(error);
  return error;
}

/**
 * Runs `action` against the mirror at `dir` for `url`, creating the mirror when missing or
 * unusable. When `action` fails (other than by a timeout, an abort or a definitive error) the
 * mirror is examined: if it is corrupt (deleted objects, a broken HEAD, `commit` present but
 * incomplete) it is rebuilt and `action` runs once more; if it is sound, the failure was the
 * remote's and is reported as it is, so a flaky network never costs the whole mirror.
 */
export async function withMirror<T>(
  git: GitRunner,
  dir: string,
  url: string,
  logger: Logger,
  action: () => Promise<T>,
  commit?: string,
  /** The mirror was found usable moments ago (in this process, or the daemon that started this child): not asked again. */
  knownUsable = false,
): Promise<T> {
  if (!knownUsable && !(await mirrorUsable(git, dir, url))) {
    if (existsSync(dir)) logger.warn({ mirror: dir }, 'git mirror unusable (corrupt, or for another url), rebuilding it');
    await buildMirror(git, dir, url);
  }
  try {
    return await action();
  } catch (error) {
    if (isTimeoutOrAbort(error) || (error instanceof Error && definitive.has(error))) throw error;
    if (await mirrorSound(git, dir, url, commit)) throw error;
    logger.warn({ mirror: dir, error: messageOf(error) }, 'git mirror corrupt, rebuilding it');
    await buildMirror(git, dir, url);
    return await action();
  }
}

/**
 * Makes sure `commit` is in the mirror, fetching it shallow when it is not. Returns the bytes
 * the fetch added to the mirror (0 when the commit was already there). `refHint` is fetched
 * instead when the server refuses a fetch by commit id (old servers without protocol v2).
 * `display` is the URL named in errors.
 */
export async function fetchCommit(git: GitRunner, dir: string, commit: string, refHint: string | undefined, display: string): Promise<number> {
  if (await hasCommit(git, dir, commit)) return 0;
  const before = await diskUsage(join(dir, 'objects'));
  const fetch = (src: string) =>
    git(['fetch', '--depth=1', '--no-tags', '--no-write-fetch-head', '--progress', 'origin', `+${src}:${fetchedRef}`], { gitDir: dir });
  try {
    await fetch(commit);
  } catch (error) {
    const refused = /not our ref|unadvertised object|couldn't find remote ref/i.test((error as Error).message);
    if (!refused || refHint === undefined || refHint === commit) throw error;
    await fetch(refHint);
    if (!(await hasCommit(git, dir, commit))) {
      throw definitiveError(
        new RemoteError(display, `commit ${commit} is no longer at ${refHint} (force-pushed?); the next check will see the new one`),
      );
    }
  }
  if (!(await hasCommit(git, dir, commit))) {
    throw new RemoteError(display, `commit ${commit} missing from the mirror after fetching it`);
  }
  return Math.max(0, (await diskUsage(join(dir, 'objects'))) - before);
}

/** True when the mirror holds `commit` (and says so without error). */
export async function hasCommit(git: GitRunner, dir: string, commit: string): Promise<boolean> {
  try {
    await git(['cat-file', '-e', `${commit}^{commit}`], { gitDir: dir });
    return true;
  } catch (error) {
    if (isTimeoutOrAbort(error)) throw error;
    return false;
  }
}

// A mirror is usable when git reads it as a bare repository whose origin is `url`; anything
// else (missing, half-built, garbage HEAD, another URL) is rebuilt.
async function mirrorUsable(git: GitRunner, dir: string, url: string): Promise<boolean> {
  try {
    const bare = (await git(['rev-parse', '--is-bare-repository'], { gitDir: dir })).trim();
    const origin = (await git(['config', '--get', 'remote.origin.url'], { gitDir: dir })).trim();
    return bare === 'true' && origin === url;
  } catch (error) {
    if (isTimeoutOrAbort(error)) throw error;
    return false;
  }
}

// Sound: usable, every ref's objects present, and `commit` complete if the mirror has it.
async function mirrorSound(git: GitRunner, dir: string, url: string, commit: string | undefined): Promise<boolean> {
  if (!(await mirrorUsable(git, dir, url))) return false;
  try {
    // A full fsck reads every object (a truncated pack passes a connectivity check); the
    // mirror is shallow, so this is one commit's worth, and it runs only after a failure.
    await git(['fsck', '--no-dangling', '--no-progress'], { gitDir: dir, local: true });
    if (commit && (await hasCommit(git, dir, commit))) {
      await git(['rev-list', '--quiet', '--objects', '--missing=error', commit], { gitDir: dir, local: true });
    }
    return true;
  } catch (error) {
    if (isTimeoutOrAbort(error)) throw error;
    return false;
  }
}

// Builds a fresh mirror beside the old one and renames it into place, so a crash leaves either
// the old mirror or the new one, never half of each.
async function buildMirror(git: GitRunner, dir: string, url: string): Promise<void> {
  const temp = `${dir}.new-${randomBytes(4).toString('hex')}`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true, mode: privateDirMode });
  try {
    // --shared=0600: git makes every file of the mirror 0600 and directory 0700, whatever the
    // umask it inherits from us.
    await git(['init', '--bare', '--quiet', '--shared=0600', temp]);
    await git(['config', 'remote.origin.url', url], { gitDir: temp });
    await git(['config', 'core.logAllRefUpdates', 'false'], { gitDir: temp });
    await rm(dir, { recursive: true, force: true });
    await rename(temp, dir);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

// Bytes under `dir`, for the bytes-downloaded figure of a fetch.
async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await diskUsage(path);
    else if (entry.isFile()) total += (await stat(path).catch(() => ({ size: 0 }))).size;
  }
  return total;
}
