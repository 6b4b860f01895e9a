import { spawn } from 'node:child_process';
import { lstat, mkdir, readlink, rm, stat, symlink } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { UpdateFailedError } from '../errors.js';
import type { Logger } from '../log.js';
import { makeReadableDir } from '../util/modes.js';

/**
 * Shared paths (`shared = .env, storage/`), as Capistrano's linked_files and linked_dirs:
 * each path of a release becomes a relative symlink into `<deploy dir>/shared/`, so data that
 * must outlive a release (uploads, logs, the host's secrets) stays put across deploys,
 * reverts and rollbacks. Relative links keep working when the deploy directory is moved or
 * mounted elsewhere (a container, a chroot).
 */

/** What `linkShared` needs. */
export interface LinkSharedOptions {
  /** The release being activated. */
  releaseDir: string;
  /** The app's deploy directory: `shared/` lives there. */
  deployDir: string;
  /** The configured paths; a trailing `/` marks a directory. */
  paths: readonly string[];
  /** `user[:group]` given the shared directories this creates (the app writes to them). */
  owner?: string;
  logger: Logger;
}

/** The directory holding shared files and directories. */
export function sharedDirOf(deployDir: string): string {
  return join(deployDir, 'shared');
}

/**
 * Links every shared path of a release. Idempotent: a release activated again (a reuse, a
 * rollback) already has its links and is left as it is. Throws `UpdateFailedError('blocked')`
 * naming the shared file to create when one is missing, before anything is changed.
 */
export async function linkShared(options: LinkSharedOptions): Promise<void> {
  const { releaseDir, deployDir, paths, logger } = options;
  const sharedRoot = sharedDirOf(deployDir);
  await checkSharedFiles(deployDir, paths);
  for (const raw of paths) {
    const isDir = raw.endsWith('/');
    const path = raw.replace(/\/+$/, '');
    const shared = join(sharedRoot, path);
    if (isDir && !(await isDirectory(shared))) {
      await makeReadableDir(shared);
      if (options.owner) await chown(shared, options.owner);
      logger.info({ path: shared }, 'created shared directory');
    }
    await linkOne(releaseDir, path, shared, logger);
  }
}

/**
 * Throws `UpdateFailedError('blocked')` naming each shared file (not directory) missing from
 * `<deploy dir>/shared/` and the path to create. Changes nothing (dry runs use it alone).
 */
export async function checkSharedFiles(deployDir: string, paths: readonly string[]): Promise<void> {
  const sharedRoot = sharedDirOf(deployDir);
  const missing: string[] = [];
  for (const path of paths.filter((p) => !p.endsWith('/'))) {
    if (!(await isFile(join(sharedRoot, path)))) missing.push(path);
  }
  if (missing.length === 0) return;
  const what = missing.map((p) => `${p} (create ${join(sharedRoot, p)})`).join(', ');
  throw new UpdateFailedError('blocked', `shared file${missing.length > 1 ? 's' : ''} missing: ${what}; the release links to it, so the update is blocked and current is unchanged`);
}

/** Makes `<release>/<path>` a relative symlink to `shared`, replacing what was there. */
async function linkOne(releaseDir: string, path: string, shared: string, logger: Logger): Promise<void> {
  const inRelease = join(releaseDir, path);
  const target = relative(dirname(inRelease), shared);
  await refuseLinkedParents(releaseDir, path);
  const existing = await lstat(inRelease).catch(() => null);
  if (existing?.isSymbolicLink() && (await readlink(inRelease)) === target) return;
  if (existing) {
    // The archive's own copy (a sample .env, an empty log/) gives way to the shared one.
    await rm(inRelease, { recursive: true, force: true });
    logger.info({ path, kind: existing.isDirectory() ? 'directory' : existing.isSymbolicLink() ? 'symlink' : 'file' }, 'replaced release content with a shared link');
  } else {
    await makeReadableDir(dirname(inRelease));
  }
  await symlink(target, inRelease);
}

/**
 * A parent of the path inside the release that is a symlink could lead outside it (with
 * `allow-external-links`): replacing "its" content would delete files elsewhere.
 */
async function refuseLinkedParents(releaseDir: string, path: string): Promise<void> {
  const parts = path.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const at = join(releaseDir, ...parts.slice(0, i));
    const st = await lstat(at).catch(() => null);
    if (st?.isSymbolicLink()) {
      throw new UpdateFailedError('blocked', `shared path ${path}: ${parts.slice(0, i).join('/')} is a symlink in the release, so the path cannot be linked safely; make it a directory in the release or change shared`);
    }
  }
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

function chown(path: string, owner: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn('chown', [owner, path], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`error giving shared directory ${path} to ${owner}: ${stderr.trim() || `chown exited ${code}`}`))));
  });
}
