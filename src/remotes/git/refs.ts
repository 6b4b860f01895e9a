import { RemoteError } from '../../errors.js';
import type { GitRunner } from './run.js';
import { isCommitId, type GitLocation } from './url.js';

/**
 * Resolving what a git remote's ref points at, with exactly one `git ls-remote`: the check
 * must stay cheap (one round trip, nothing fetched) whatever the size of the repository.
 */

/** A ref resolved to the commit it names. */
export interface ResolvedRef {
  /** Full commit id (tags are peeled to their commit). */
  commit: string;
  /** Full ref name, e.g. `refs/heads/main`, or the commit id for a pinned commit. */
  ref: string;
}

/** One line of `ls-remote`: name -> object id, plus symbolic refs. */
export interface RemoteRefs {
  ids: Map<string, string>;
  symrefs: Map<string, string>;
}

/** Parses `git ls-remote --symref` output. */
export function parseLsRemote(output: string): RemoteRefs {
  const ids = new Map<string, string>();
  const symrefs = new Map<string, string>();
  for (const line of output.split('\n')) {
    const sym = /^ref: (\S+)\t(\S+)$/.exec(line);
    if (sym) {
      symrefs.set(sym[2]!, sym[1]!);
      continue;
    }
    const ref = /^([0-9a-f]{40,64})\t(\S+)$/.exec(line);
    if (ref) ids.set(ref[2]!, ref[1]!);
  }
  return { ids, symrefs };
}

/**
 * Patterns for `ls-remote` that cover every way `ref` can be spelled, so the server (protocol
 * v2 ref prefixes) sends only those refs, never the whole list.
 */
export function lsRemotePatterns(ref: string | undefined): string[] {
  if (ref === undefined) return ['HEAD'];
  if (ref.startsWith('refs/')) return [ref, `${ref}^{}`];
  return [`refs/heads/${ref}`, `refs/tags/${ref}`, `refs/tags/${ref}^{}`];
}

/**
 * Picks the commit for `ref` from the listed refs: a branch wins over a tag of the same name
 * (as git's own lookup order does), annotated tags are peeled. Throws `RemoteError` naming the
 * ref and the URL when it is gone.
 */
export function pickRef(refs: RemoteRefs, ref: string | undefined, display: string): ResolvedRef {
  if (ref === undefined) {
    const target = refs.symrefs.get('HEAD');
    const commit = (target && refs.ids.get(target)) ?? refs.ids.get('HEAD');
    if (!commit) throw new RemoteError(display, 'remote has no default branch (HEAD): is the repository empty?');
    return { commit, ref: target ?? 'HEAD' };
  }
  const names = ref.startsWith('refs/') ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`];
  for (const name of names) {
    const commit = refs.ids.get(`${name}^{}`) ?? refs.ids.get(name);
    if (commit) return { commit, ref: name };
  }
  throw new RemoteError(display, `ref "${ref}" not found on the remote: no such branch or tag (deleted?)`);
}

/**
 * Resolves the location's ref with one `ls-remote`. A pinned full commit id needs no network
 * round trip: it cannot move, and fetching it will fail clearly if it does not exist.
 */
export async function resolveRef(git: GitRunner, location: GitLocation): Promise<ResolvedRef> {
  if (location.ref !== undefined && isCommitId(location.ref)) return { commit: location.ref, ref: location.ref };
  const patterns = lsRemotePatterns(location.ref);
  const output = await git(['ls-remote', '--symref', location.cleanUrl, ...patterns]);
  return pickRef(parseLsRemote(output), location.ref, location.display);
}
