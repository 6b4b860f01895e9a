import { chmodSync, mkdirSync } from 'node:fs';
import { emptyDir } from '../../util/empty-dir.js';
import { join } from 'node:path';
import { normaliseReleaseModes, privateDirMode } from '../../util/modes.js';
import { fetchCommit, withMirror } from './mirror.js';
import { resolveRef } from './refs.js';
import { createGitRunner, type GitRunner } from './run.js';
import { ReleaseLinks } from './links.js';
import { checkoutSubmodules } from './submodules.js';
import { checkoutTree, subdirTree } from './tree.js';
import { parseGitSpec, type GitOptions, type GitSpec } from './options.js';
import { isGitUrl, type GitLocation } from './url.js';
import { verifyFetchedCommit } from './verify.js';
import { defineKind, type FetchResult, type Observation, type Remote, type RemoteContext } from '../types.js';
import { reuseDetail } from '../../reuse/release-files.js';

/**
 * The git remote kind: `user@host:org/app.git/path#ref` and the standard URL
 * forms. The check is one `git ls-remote`; the version is the full commit id; fetching is
 * shallow into a bare mirror in the cache; the release holds the tree of the subdirectory at
 * that commit, with submodules, and no `.git`. The content id is the subdirectory's tree id,
 * so a commit that leaves the subdirectory alone makes no release (the monorepo no-op).
 *
 * With `git-allowed-signers`, the commit is verified (signed commit, or signed tag) as soon as
 * it is in the mirror, before its tree is read for either purpose; symlinks leading outside
 * the release refuse it before checkout: a release must never point at files outside itself.
 */

/** A commit made ready in the mirror: what fetching it added, its signature, its subdirectory's tree. */
interface ResolvedCommit {
  bytes: number;
  signed: Record<string, string>;
  tree: string;
}

/** What `contentIdOf` resolved, kept for the fetch of the same version from the same mirror. */
type KnownCommit = ResolvedCommit & { version: string; gitDir: string };

/** The git kind, registered in `index.ts`. */
export const gitKind = defineKind({
  name: 'git',
  matches: isGitUrl,
  parse: parseGitSpec,
  open: (spec: GitSpec) => new GitRemote(spec),
});

/** A git remote for one URL. */
export class GitRemote implements Remote {
  readonly kind = 'git';
  readonly display: string;
  /** The parsed URL (holds credentials: never log it). */
  readonly location: GitLocation;
  private readonly config: GitOptions;
  /** The last commit `contentIdOf` resolved, for the `fetch` of it that follows. */
  private resolved: KnownCommit | undefined;

  constructor(spec: GitSpec) {
    this.location = spec.location;
    this.config = spec.options;
    this.display = spec.display;
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
    const resolved = await withMirror(git, gitDir, this.location.cleanUrl, ctx.logger, () => this.resolve(git, gitDir, version, ctx), version);
    this.resolved = { ...resolved, version, gitDir };
    return `git-tree:${resolved.tree}`;
  }

  /** What `contentIdOf` resolved for `version`, for a fetch of it in a child process; forgotten here. */
  handOverResolved(version: string): unknown {
    return this.take(version);
  }

  /** What `contentIdOf` resolved in the parent process; ignored unless it has the shape it gives. */
  adoptResolved(resolved: unknown): void {
    if (isResolvedCommit(resolved)) this.resolved = resolved;
  }

  /** Writes the subdirectory's tree at commit `version` into `into`, submodules included. */
  async fetch(version: string, into: string, ctx: RemoteContext): Promise<FetchResult> {
    const git = this.runner(ctx);
    const gitDir = this.mirrorDir(ctx);
    // What `contentIdOf` just found for this version (the deploy asks it first): not asked of
    // git again. Only for the first attempt: a rebuilt mirror starts from nothing.
    const taken = this.take(version);
    const known = taken?.gitDir === gitDir ? taken : undefined;
    let attempt = 0;
    return withMirror(git, gitDir, this.location.cleanUrl, ctx.logger, async () => {
      // A retry after rebuilding the mirror starts from an empty directory again.
      if (attempt++ > 0) await emptyDir(into);
      const { bytes, signed, tree } = attempt === 1 && known ? known : await this.resolve(git, gitDir, version, ctx);
      if (signed.signedBy) ctx.logger.info({ commit: version, ...signed }, 'git signature verified');
      const links = new ReleaseLinks(`commit ${version} of ${this.display}`, { allowExternal: this.config.allowExternalLinks === true });
      const reuse = { ...(ctx.releaseFiles ? { reuse: ctx.releaseFiles } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) };
      const written = await checkoutTree(git, gitDir, tree, into, ctx.cacheDir, { links, prefix: '', ...reuse });
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
      if (ctx.releaseFiles) Object.assign(result.detail!, reuseDetail(written.reusedFiles, result.files, written.reusedBytes));
      // checkout-index and mkdir follow the umask: under the usual 022 they wrote release modes
      // already (git keeps only 644 and 755); under any other (077 in a hand-run -f) set them.
      if (process.umask() !== 0o022) await normaliseReleaseModes(into);
      ctx.logger.debug({ commit: version, tree, files: result.files, bytesDownloaded: result.bytesDownloaded }, 'git tree checked out');
      return result;
    }, version, known !== undefined);
  }

  /** What `contentIdOf` resolved for `version`, if that was the last it resolved; forgotten either way. */
  private take(version: string): KnownCommit | undefined {
    const resolved = this.resolved?.version === version ? this.resolved : undefined;
    this.resolved = undefined;
    return resolved;
  }

  /**
   * Makes sure commit `version` is in the mirror (fetching it), verifies it, and finds the
   * subdirectory's tree: verified before anything is read out of the commit, let alone written.
   */
  private async resolve(git: GitRunner, gitDir: string, version: string, ctx: RemoteContext): Promise<ResolvedCommit> {
    const bytes = await fetchCommit(git, gitDir, version, this.location.ref, this.display);
    const signed = await verifyFetchedCommit({ git, gitDir, location: this.location, commit: version, ...(ctx.signal ? { signal: ctx.signal } : {}) }, this.config.verify);
    const tree = await subdirTree(git, gitDir, version, this.location.subdir, this.display);
    return { bytes, signed, tree };
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

function isResolvedCommit(value: unknown): value is KnownCommit {
  const v = value as Partial<KnownCommit> | null;
  return (
    typeof v === 'object' && v !== null &&
    typeof v.version === 'string' && typeof v.gitDir === 'string' && typeof v.tree === 'string' && typeof v.bytes === 'number' &&
    typeof v.signed === 'object' && v.signed !== null && Object.values(v.signed).every((x) => typeof x === 'string')
  );
}

