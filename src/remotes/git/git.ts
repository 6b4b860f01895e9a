import { chmodSync, mkdirSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { normaliseReleaseModes, privateDirMode } from '../../util/modes.js';
import { fetchCommit, withMirror } from './mirror.js';
import { resolveRef } from './refs.js';
import { createGitRunner, type GitRunner } from './run.js';
import { ReleaseLinks } from './links.js';
import { checkoutSubmodules } from './submodules.js';
import { checkoutTree, subdirTree } from './tree.js';
import { isGitUrl, parseGitUrl, type GitLocation } from './url.js';
import { verifyFetchedCommit } from './verify.js';
import type { FetchResult, Observation, Remote, RemoteConfig, RemoteContext, RemoteKind } from '../types.js';

/**
 * The git remote kind (DESIGN §4): `user@host:org/app.git/path#ref` and the standard URL
 * forms. The check is one `git ls-remote`; the version is the full commit id; fetching is
 * shallow into a bare mirror in the cache; the release holds the tree of the subdirectory at
 * that commit, with submodules, and no `.git`. The content id is the subdirectory's tree id,
 * so a commit that leaves the subdirectory alone makes no release (the monorepo no-op).
 *
 * With `git-allowed-signers`, the commit is verified (signed commit, or signed tag) as soon as
 * it is in the mirror, before its tree is read for either purpose; symlinks leading outside
 * the release refuse it before checkout (DESIGN §10).
 */

/** The git kind, registered in `index.ts`. */
export const gitKind: RemoteKind = {
  name: 'git',
  matches: isGitUrl,
  create: (url, config) => new GitRemote(parseGitUrl(url), config),
};

/** A git remote for one URL. */
export class GitRemote implements Remote {
  readonly kind = 'git';
  readonly display: string;
  /** The parsed URL (holds credentials: never log it). */
  readonly location: GitLocation;
  private readonly config: RemoteConfig;

  constructor(location: GitLocation, config: RemoteConfig) {
    this.location = location;
    this.config = config;
    this.display = location.display;
  }

  /** One `ls-remote`: the commit the ref (or the default branch) points at now. */
  async check(ctx: RemoteContext): Promise<Observation> {
    const resolved = await resolveRef(this.runner(ctx), this.location);
    ctx.logger.debug({ commit: resolved.commit, ref: resolved.ref }, 'git remote checked');
    return { version: resolved.commit, detail: { commit: resolved.commit, ref: resolved.ref } };
  }

  /**
   * Fetches `version` (a commit id) into the mirror and returns `git-tree:<subdir tree id>`.
   * Verified like `fetch`: an unsigned commit must fail here, not be recorded as seen because
   * its tree happens to equal the current release's.
   */
  async contentIdOf(version: string, ctx: RemoteContext): Promise<string> {
    const git = this.runner(ctx);
    const gitDir = this.mirrorDir(ctx);
    const tree = await withMirror(git, gitDir, this.location.cleanUrl, ctx.logger, async () => {
      await fetchCommit(git, gitDir, version, this.location.ref, this.display);
      await verifyFetchedCommit({ git, gitDir, location: this.location, commit: version }, this.config.verify);
      return subdirTree(git, gitDir, version, this.location.subdir, this.display);
    }, version);
    return `git-tree:${tree}`;
  }

  /** Writes the subdirectory's tree at commit `version` into `into`, submodules included. */
  async fetch(version: string, into: string, ctx: RemoteContext): Promise<FetchResult> {
    const git = this.runner(ctx);
    const gitDir = this.mirrorDir(ctx);
    let attempt = 0;
    return withMirror(git, gitDir, this.location.cleanUrl, ctx.logger, async () => {
      // A retry after rebuilding the mirror starts from an empty directory again.
      if (attempt++ > 0) await emptyDir(into);
      const bytes = await fetchCommit(git, gitDir, version, this.location.ref, this.display);
      // Verified before anything is read out of the commit, let alone written.
      const signed = await verifyFetchedCommit({ git, gitDir, location: this.location, commit: version }, this.config.verify);
      if (signed.signedBy) ctx.logger.info({ commit: version, ...signed }, 'git signature verified');
      const tree = await subdirTree(git, gitDir, version, this.location.subdir, this.display);
      const links = new ReleaseLinks(`commit ${version} of ${this.display}`);
      const written = await checkoutTree(git, gitDir, tree, into, ctx.cacheDir, { links, prefix: '' });
      const result: FetchResult = {
        contentId: `git-tree:${tree}`,
        bytesDownloaded: bytes,
        files: written.files,
        detail: { commit: version, tree, ...signed },
      };
      if (this.config.gitSubmodules !== false && written.gitlinks.length > 0) {
        const sub = await checkoutSubmodules(
          { gitDir, url: this.location.cleanUrl, commit: version, subdir: this.location.subdir },
          written.gitlinks,
          into,
          { git, cacheDir: ctx.cacheDir, display: this.display, logger: ctx.logger, allowLocal: this.location.scheme === 'file', links },
        );
        result.files += sub.files;
        result.bytesDownloaded += sub.bytesDownloaded;
        result.detail!.submodules = String(written.gitlinks.length);
      }
      // checkout-index and mkdir follow the umask: under the usual 022 they wrote release modes
      // already (git keeps only 644 and 755); under any other (077 in a hand-run -f) set them.
      if (process.umask() !== 0o022) await normaliseReleaseModes(into);
      ctx.logger.debug({ commit: version, tree, files: result.files, bytesDownloaded: result.bytesDownloaded }, 'git tree checked out');
      return result;
    }, version);
  }

  private runner(ctx: RemoteContext): GitRunner {
    // git runs in the cache directory, so it must exist before the first command.
    mkdirSync(ctx.cacheDir, { recursive: true, mode: privateDirMode });
    chmodSync(ctx.cacheDir, privateDirMode);
    return createGitRunner({
      location: this.location,
      cwd: ctx.cacheDir,
      connectTimeoutMs: this.config.connectTimeoutMs,
      readTimeoutMs: this.config.readTimeoutMs,
      ...(this.config.gitSshKey ? { sshKey: this.config.gitSshKey } : {}),
      ...(this.config.gitKnownHosts ? { knownHosts: this.config.gitKnownHosts } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
  }

  private mirrorDir(ctx: RemoteContext): string {
    return join(ctx.cacheDir, 'mirror.git');
  }
}

async function emptyDir(dir: string): Promise<void> {
  for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
}
