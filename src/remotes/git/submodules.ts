import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Logger } from 'pino';
import { RemoteError, VerificationError } from '../../errors.js';
import { definitiveError, fetchCommit, withMirror } from './mirror.js';
import type { GitRunner } from './run.js';
import type { ReleaseLinks } from './links.js';
import { checkoutTree, type Gitlink } from './tree.js';

/**
 * Submodules, checked out recursively into a release: each gets its own shallow mirror under
 * the remote's cache directory, fetched at the commit the superproject pins. URLs come from the
 * superproject's `.gitmodules` at the deployed commit; relative URLs resolve against the
 * superproject's URL as git does.
 */

/** Deeper nesting than this is a loop or an abuse, not a real project. */
const maxDepth = 8;

/** A repository whose submodules are being checked out. */
export interface SubmoduleParent {
  /** Mirror holding the parent. */
  gitDir: string;
  /** Parent's URL (without credentials), base for relative submodule URLs. */
  url: string;
  /** Parent commit, whose `.gitmodules` names the submodules. */
  commit: string;
  /** Path of the checked-out tree inside the parent repository (`''` = root). */
  subdir: string;
  /** Path of the parent's checkout relative to the release root (`''` or absent = the root). */
  releasePath?: string;
}

/** Everything `checkoutSubmodules` needs besides the parent. */
export interface SubmoduleContext {
  git: GitRunner;
  /** Remote's cache directory: submodule mirrors live in `modules/` below it. */
  cacheDir: string;
  /** URL for error messages (the deployed remote, without credentials). */
  display: string;
  logger: Logger;
  /** True when the deployed remote is itself `file://`: only then may submodules be local. */
  allowLocal: boolean;
  /** The release's symlinks: each submodule's are checked against them before checkout. */
  links: ReleaseLinks;
}

/** Totals for the submodules written. */
export interface SubmoduleResult {
  files: number;
  bytesDownloaded: number;
}

/** Checks out `gitlinks` (found in the parent's tree, written at `into`) and theirs, recursively. */
export async function checkoutSubmodules(
  parent: SubmoduleParent,
  gitlinks: readonly Gitlink[],
  into: string,
  ctx: SubmoduleContext,
  depth = 0,
): Promise<SubmoduleResult> {
  const result: SubmoduleResult = { files: 0, bytesDownloaded: 0 };
  if (gitlinks.length === 0) return result;
  if (depth >= maxDepth) throw definitiveError(new RemoteError(ctx.display, `submodules nested more than ${maxDepth} deep`));
  const modules = await readGitmodules(ctx.git, parent);
  for (const link of gitlinks) {
    const repoPath = parent.subdir ? `${parent.subdir}/${link.path}` : link.path;
    const declared = modules.get(repoPath);
    if (!declared) {
      throw definitiveError(new RemoteError(ctx.display, `submodule at "${repoPath}" has no url in .gitmodules at commit ${parent.commit}`));
    }
    const url = submoduleUrl(declared, parent.url, ctx, repoPath);
    const gitDir = join(ctx.cacheDir, 'modules', `${createHash('sha256').update(url).digest('hex').slice(0, 16)}.git`);
    const target = join(into, link.path);
    const releasePath = parent.releasePath ? `${parent.releasePath}/${link.path}` : link.path;
    await mkdir(target, { recursive: true });
    // Link paths are kept as bytes (latin1, see git-links.ts); the prefix must match them.
    const place = { links: ctx.links, prefix: Buffer.from(releasePath, 'utf8').toString('latin1') };
    const sub = await withMirror(ctx.git, gitDir, url, ctx.logger, async () => {
      const bytes = await fetchCommit(ctx.git, gitDir, link.commit, undefined, ctx.display);
      const tree = await checkoutTree(ctx.git, gitDir, `${link.commit}^{tree}`, target, ctx.cacheDir, place);
      return { bytes, tree };
    }, link.commit).catch((error: unknown) => {
      // Refused content stays a refusal (exit 1 as verification, not as a transport error).
      if (error instanceof VerificationError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw definitiveError(new RemoteError(ctx.display, `submodule "${repoPath}" at ${link.commit}: ${message}`));
    });
    result.files += sub.tree.files;
    result.bytesDownloaded += sub.bytes;
    const nested = await checkoutSubmodules({ gitDir, url, commit: link.commit, subdir: '', releasePath }, sub.tree.gitlinks, target, ctx, depth + 1);
    result.files += nested.files;
    result.bytesDownloaded += nested.bytesDownloaded;
  }
  return result;
}

/** Resolves a `.gitmodules` URL against the parent's URL, as `git submodule` does. */
export function resolveSubmoduleUrl(url: string, parentUrl: string): string {
  if (!url.startsWith('./') && !url.startsWith('../')) return url;
  let base = parentUrl.replace(/\/+$/, '');
  let rest = url;
  for (;;) {
    if (rest.startsWith('./')) rest = rest.slice(2);
    else if (rest.startsWith('../')) {
      rest = rest.slice(3);
      base = parentOf(base);
    } else break;
  }
  return base.endsWith(':') ? `${base}${rest}` : `${base}/${rest}`;
}

// One path component up, never above the host (`scheme://host/…`) or `host:` (scp-like).
function parentOf(base: string): string {
  const scheme = base.indexOf('://');
  const slash = base.lastIndexOf('/');
  if (scheme !== -1) {
    const pathStart = base.indexOf('/', scheme + 3);
    return pathStart !== -1 && slash >= pathStart ? base.slice(0, slash) : base;
  }
  const colon = base.indexOf(':');
  return slash > colon ? base.slice(0, slash) : base.slice(0, colon + 1);
}

// Only transports a remote repository may legitimately point at; a local path or file:// would
// let a remote repository copy files of this host into a release, unless the deployed remote
// is local itself.
function submoduleUrl(declared: string, parentUrl: string, ctx: SubmoduleContext, repoPath: string): string {
  const url = resolveSubmoduleUrl(declared, parentUrl);
  const network = /^(ssh|git|http|https):\/\//i.test(url) || /^[^@/:\s-][^@/:\s]*@[^/:\s]+:/.test(url);
  const local = /^file:\/\//i.test(url) || url.startsWith('/');
  if (network || (local && ctx.allowLocal)) return url;
  throw definitiveError(
    new RemoteError(ctx.display, `submodule "${repoPath}" has an unsupported url "${url.replace(/\/\/[^/@]*@/, '//***@')}"`),
  );
}

// path -> url from the parent's `.gitmodules` at its commit (none when the file is absent).
async function readGitmodules(git: GitRunner, parent: SubmoduleParent): Promise<Map<string, string>> {
  let listing: string;
  try {
    listing = await git(['config', '-z', '--blob', `${parent.commit}:.gitmodules`, '--list'], { gitDir: parent.gitDir });
  } catch {
    return new Map();
  }
  const byName = new Map<string, { path?: string; url?: string }>();
  for (const item of listing.split('\0')) {
    const nl = item.indexOf('\n');
    if (nl === -1) continue;
    const m = /^submodule\.(.+)\.(path|url)$/.exec(item.slice(0, nl));
    if (!m) continue;
    const entry = byName.get(m[1]!) ?? {};
    entry[m[2] as 'path' | 'url'] = item.slice(nl + 1);
    byName.set(m[1]!, entry);
  }
  const byPath = new Map<string, string>();
  for (const { path, url } of byName.values()) {
    if (path && url) byPath.set(posix.normalize(path).replace(/\/+$/, ''), url);
  }
  return byPath;
}
