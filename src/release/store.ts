import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readlink, rename, rm, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { metaPathOf } from './release-meta.js';
import { manifestPathOf } from '../reuse/manifest.js';
import { makeReadableDir, releaseDirMode } from '../util/modes.js';
import { onDisk } from '../util/disk-errors.js';

/** Where a release store keeps things, all inside the app's deploy directory. */
export interface StoreLayout {
  /** The symlink readers follow, e.g. `/var/deploy/current`. */
  link: string;
  /** Its directory: `releases/` and `.repo-deploy/` live here, on the same filesystem. */
  deployDir: string;
}

/** What `current` is right now. */
export type LinkState =
  | { kind: 'release'; id: string }
  | { kind: 'missing' }
  /** A real directory from before repo-deploy: adopted as a release on the next deploy. */
  | { kind: 'directory' }
  /** A symlink pointing somewhere that is not one of our releases (set by hand). */
  | { kind: 'foreign'; target: string };

const stagingPrefix = '.staging-';
const tempLinkPrefix = '.current.tmp-';
const stateTempPrefix = 'state.json.tmp-';

/**
 * The immutable releases of one app and the `current` symlink. Releases are built
 * in a staging directory beside `releases/<id>` and renamed into place, so a published release
 * is always complete; `current` only ever changes by rename(2) of a new symlink over it.
 */
export class ReleaseStore {
  readonly link: string;
  readonly deployDir: string;
  readonly releasesDir: string;

  constructor(layout: StoreLayout) {
    this.link = layout.link;
    this.deployDir = layout.deployDir;
    this.releasesDir = join(layout.deployDir, 'releases');
  }

  /** Absolute path of a release. */
  pathOf(id: string): string {
    return join(this.releasesDir, id);
  }

  /** Reads what `current` points at. */
  async current(): Promise<LinkState> {
    let stat;
    try {
      stat = await lstat(this.link);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      throw new Error(`error reading link ${this.link}: ${(error as Error).message}`, { cause: error });
    }
    if (stat.isDirectory()) return { kind: 'directory' };
    if (!stat.isSymbolicLink()) return { kind: 'foreign', target: this.link };
    const target = await readlink(this.link);
    const absolute = resolve(dirname(this.link), target);
    if (dirname(absolute) === this.releasesDir) return { kind: 'release', id: basename(absolute) };
    return { kind: 'foreign', target };
  }

  /** Ids of published releases (staging leftovers excluded), oldest first. */
  async list(): Promise<string[]> {
    try {
      return (await readdir(this.releasesDir)).filter((n) => !n.startsWith('.')).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  /** Makes an empty, uniquely named staging directory next to the releases. */
  async createStaging(): Promise<string> {
    const dir = join(this.releasesDir, `${stagingPrefix}${process.pid}-${randomBytes(4).toString('hex')}`);
    await onDisk(this.releasesDir, async () => {
      await makeReadableDir(this.releasesDir);
      await mkdir(dir);
      // The release root must be readable by the app's user even when we run under umask 077.
      await chmod(dir, releaseDirMode);
    });
    return dir;
  }

  /**
   * Publishes a complete staging directory as release `id`. The data is flushed first so that
   * even a power cut cannot leave a published release with empty files (`sync -f` is one
   * syncfs(2) for the whole filesystem: far cheaper than an fsync per file). `whileFlushing`
   * (work that reads the staging directory by its path) runs meanwhile and ends before the
   * directory is renamed.
   */
  async publish(staging: string, id: string, whileFlushing?: Promise<unknown>): Promise<string> {
    await Promise.all([syncFilesystem(staging), whileFlushing]);
    const path = this.pathOf(id);
    await rename(staging, path);
    return path;
  }

  /**
   * Points `current` at release `id` atomically, or removes it when `id` is null (restoring
   * "nothing deployed" after a first deploy failed). A symlink made under a unique temporary
   * name is renamed over `current`: readers see the old or the new target, never nothing.
   */
  async swap(id: string | null): Promise<void> {
    if (id === null) {
      await unlink(this.link).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      return;
    }
    const temp = join(dirname(this.link), `${tempLinkPrefix}${process.pid}-${randomBytes(4).toString('hex')}`);
    await onDisk(dirname(this.link), async () => {
      await mkdir(dirname(this.link), { recursive: true });
      // Relative, so the deploy directory can be moved or bind-mounted elsewhere intact.
      await symlink(relative(dirname(this.link), this.pathOf(id)), temp);
    });
    try {
      await rename(temp, this.link);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw new Error(`error swapping link ${this.link} to release ${id}: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Turns a real directory at `current` into release `id` and points `current` at it. There
   * is a moment between the two renames where `current` does not exist (a directory cannot be
   * replaced by a symlink atomically); the caller records `id` as current first so that
   * recovery re-creates the link after a crash in that moment.
   */
  async adoptDirectory(id: string): Promise<void> {
    await makeReadableDir(this.releasesDir);
    try {
      await rename(this.link, this.pathOf(id));
    } catch (error) {
      throw new Error(
        `error moving directory ${this.link} into releases: ${(error as Error).message} (if it is a mount point, move its files into ${this.releasesDir}/${id} by hand)`,
        { cause: error },
      );
    }
    await this.swap(id);
  }

  /** Removes a release that is not current. */
  async remove(id: string): Promise<void> {
    const state = await this.current();
    if (state.kind === 'release' && state.id === id) throw new Error(`refusing to remove release ${id}: it is current`);
    await rm(this.pathOf(id), { recursive: true, force: true });
    // The records go last: a crash in between leaves records without a directory, which
    // recovery removes, never a directory without its record.
    await this.removeRecords(id);
  }

  /** Removes release `id`'s file list, then its record (its directory is gone or going). */
  async removeRecords(id: string): Promise<void> {
    await rm(manifestPathOf(this.releasesDir, id), { force: true });
    await rm(metaPathOf(this.releasesDir, id), { force: true });
  }

  /** Removes what a killed run left behind: staging directories, temporary links and state files. */
  async cleanup(): Promise<string[]> {
    const removed: string[] = [];
    const leftovers: [string, (name: string) => boolean][] = [
      [this.releasesDir, (n) => n.startsWith(stagingPrefix) || /^\..+\.(?:json|files)\.tmp-/.test(n)],
      [dirname(this.link), (n) => n.startsWith(tempLinkPrefix)],
      // A state write that failed (full disk) or was killed; runs hold the lock, so no other
      // writer's temp file is removed.
      [join(this.deployDir, '.repo-deploy'), (n) => n.startsWith(stateTempPrefix)],
    ];
    for (const [dir, isLeftover] of leftovers) {
      let names: string[] = [];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      for (const name of names.filter(isLeftover)) {
        await rm(join(dir, name), { recursive: true, force: true });
        removed.push(join(dir, name));
      }
    }
    return removed;
  }
}

/** Flushes the filesystem holding `path` to disk (`sync -f`, coreutils). */
function syncFilesystem(path: string): Promise<void> {
  return new Promise((resolvePromise) => {
    const child = spawn('sync', ['-f', path], { stdio: 'ignore' });
    // Best effort: a missing `sync` or an unsupported filesystem must not block a deploy.
    child.on('error', () => resolvePromise());
    child.on('exit', () => resolvePromise());
  });
}
