import type { VerifyConfig } from '../../config/types.js';
import { RemoteError, VerificationError } from '../../errors.js';
import { requireSignedTag, verifyGitVersion, type GitEnv } from '../../verify/git-signature.js';
import { definitiveError } from './mirror.js';
import { resolveRef } from './refs.js';
import type { GitRunner } from './run.js';
import { isCommitId, type GitLocation } from './url.js';

/**
 * The git remote's side of issue 6: before a commit's tree is written anywhere (or its tree id
 * used to call a version "already deployed"), the commit must carry a signature by a pinned
 * key (`git-verify = commit`), or the configured ref must be a signed tag pointing at it
 * (`git-verify = tag`). The verdict itself is `verifyGitVersion`'s; this module brings the
 * objects it needs into the mirror and names the remote in refusals.
 */

/** Where the commit being verified lives. */
export interface VerifyTarget {
  git: GitRunner;
  /** The bare mirror, which already holds `commit`. */
  gitDir: string;
  /** The remote's parsed URL: its ref decides which tag is required. */
  location: GitLocation;
  /** The commit about to be deployed. */
  commit: string;
}

/**
 * Verifies `target.commit` under `verify`'s policy. Returns facts for `FetchResult.detail`:
 * `signer` (the allowed-signers principal), `signedBy` (key fingerprint) and, in tag mode,
 * `signedTag`; nothing when no allowed-signers file is configured. Throws `VerificationError`
 * (marked definitive: rebuilding the mirror would not change the verdict), or `RemoteError`
 * when the tag could not be fetched.
 */
export async function verifyFetchedCommit(target: VerifyTarget, verify: VerifyConfig): Promise<Record<string, string>> {
  if (!verify.gitAllowedSigners) return {};
  const { location, commit } = target;
  try {
    let ref = location.ref ?? 'HEAD';
    if ((verify.gitVerify ?? 'commit') === 'tag') {
      ref = await fetchTag(target, tagRefOf(location.ref));
    }
    const signature = await verifyGitVersion(target.gitDir, { commit, ref }, verify, verifyEnv(target.gitDir));
    const detail: Record<string, string> = {};
    if (signature?.signer) detail.signer = signature.signer;
    if (signature?.key) detail.signedBy = signature.key;
    if (ref.startsWith('refs/tags/')) detail.signedTag = ref.slice('refs/tags/'.length);
    return detail;
  } catch (error) {
    if (!(error instanceof VerificationError)) throw error;
    throw definitiveError(new VerificationError(`${error.message} (remote ${location.display})`, { cause: error }));
  }
}

/**
 * The tag ref a remote's configured ref stands for in tag mode, or a refusal: the default
 * branch, a branch and a commit id can never be a signed tag. A short name is taken as
 * `refs/tags/NAME`; whether it really is a tag is learnt when it is fetched.
 */
function tagRefOf(ref: string | undefined): string {
  if (ref === undefined) return `refs/tags/${requireSignedTag('HEAD')}`;
  if (isCommitId(ref) || ref.startsWith('refs/')) return `refs/tags/${requireSignedTag(ref)}`;
  return `refs/tags/${ref}`;
}

/**
 * Brings the annotated tag object into the mirror (a commit fetch does not) and returns the
 * tag ref. A tag already in the mirror that points at the commit is used as it is: it is
 * verified all the same, so the round trip would add nothing.
 */
async function fetchTag(target: VerifyTarget, tagRef: string): Promise<string> {
  const { git, gitDir, location, commit } = target;
  if ((await peel(git, gitDir, tagRef)) === commit) return tagRef;
  try {
    await git(['fetch', '--depth=1', '--no-tags', '--no-write-fetch-head', 'origin', `+${tagRef}:${tagRef}`], { gitDir });
  } catch (error) {
    if (!(error instanceof RemoteError) || !/couldn't find remote ref/i.test(error.message)) throw error;
    // Not a tag on the remote: say what the ref is instead (one ls-remote, failures only).
    const resolved = await resolveRef(git, location);
    requireSignedTag(resolved.ref);
    throw new VerificationError(`tag ${tagRef.slice('refs/tags/'.length)} could not be fetched from the remote to verify it`, { cause: error });
  }
  return tagRef;
}

// Commit a ref in the mirror points at, or undefined when it is absent.
async function peel(git: GitRunner, gitDir: string, ref: string): Promise<string | undefined> {
  try {
    return (await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { gitDir, local: true })).trim() || undefined;
  } catch {
    return undefined;
  }
}

// git for the verifier runs with the agent's environment: point it at the mirror explicitly,
// so a GIT_DIR or work tree inherited from a hook's environment can never be what is verified.
function verifyEnv(gitDir: string): GitEnv {
  return {
    GIT_DIR: gitDir,
    GIT_WORK_TREE: undefined,
    GIT_INDEX_FILE: undefined,
    GIT_OBJECT_DIRECTORY: undefined,
    GIT_ALTERNATE_OBJECT_DIRECTORIES: undefined,
    GIT_NAMESPACE: undefined,
    GIT_COMMON_DIR: undefined,
  };
}
