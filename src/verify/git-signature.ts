import { access, constants } from 'node:fs/promises';
import type { VerifyConfig } from '../config/types.js';
import { VerificationError, messageOf } from '../errors.js';
import { isTimeoutOrAbort, runLocalGit } from '../remotes/git/run.js';

/**
 * Signed git commits and tags, checked by git itself against an SSH
 * allowed-signers file pinned in the config (`git-allowed-signers`). Git picks the verifier
 * from the signature's armour, so SSH signatures need only `ssh-keygen`; no gpg keyring.
 *
 * Shallow mirrors are fine: a commit's signature lives in the commit object itself, and an
 * annotated tag's in the tag object, so depth-1 fetches carry everything verification needs.
 */

/** Who signed, as git reported it. */
export interface GitSignature {
  /** Principal from the allowed-signers file that matched (e.g. `release@example.com`). */
  signer?: string;
  /** Key fingerprint, e.g. `SHA256:8nIH…`. */
  key?: string;
  /** For tags: the commit the tag points at. */
  commit?: string;
}

/** Extra environment for git, merged over the agent's own (e.g. `HOME`, `GIT_CONFIG_GLOBAL`). */
export type GitEnv = Record<string, string | undefined>;

/**
 * Verifies that `commit` in the repository at `gitDir` carries a good signature by a key
 * listed in `allowedSignersFile` (`git verify-commit`). Throws `VerificationError` naming the
 * commit and what was found: no signature, an unlisted key, or a bad signature.
 */
export async function verifyCommitSignature(gitDir: string, commit: string, allowedSignersFile: string, env?: GitEnv, signal?: AbortSignal): Promise<GitSignature> {
  checkArgument('commit', commit);
  await checkSignersFile(allowedSignersFile);
  const config = ['-c', `gpg.ssh.allowedSignersFile=${allowedSignersFile}`];
  const result = await git(gitDir, [...config, 'verify-commit', '--end-of-options', commit], env, signal);
  if (result.code === 0) return parseGood(result.stderr);
  // verify-commit's exit status is the verdict; `%G?` only explains a refusal.
  const info = await git(gitDir, [...config, 'show', '-s', '--format=%G?%x00%GK%x00%GS', '--end-of-options', commit], env, signal);
  const [status, key, signer] = info.code === 0 ? info.stdout.trim().split('\0') : [];
  const subject = `commit ${commit}`;
  switch (status) {
    case 'N':
      throw new VerificationError(`${subject} is not signed; git-allowed-signers requires a signature by a key listed in ${allowedSignersFile}`);
    case 'U':
      throw new VerificationError(`${subject} is signed by key ${key || 'unknown'}, which is not listed in ${allowedSignersFile}`);
    case 'B':
      throw new VerificationError(`${subject} has a bad signature${key ? ` from key ${key}` : ''}${signer ? ` (${signer})` : ''}: it was altered after signing`);
    default:
      throw new VerificationError(`${subject} could not be verified against ${allowedSignersFile}: ${lastLines(info.code === 0 ? result.stderr : info.stderr || result.stderr)}`);
  }
}

/**
 * Verifies that the annotated tag `tagName` carries a good signature by a key listed in
 * `allowedSignersFile` (`git verify-tag`). Returns the signer and the commit the tag points at.
 * Throws `VerificationError` for a lightweight tag, an unsigned one, or an unlisted/bad key.
 */
export async function verifyTagSignature(gitDir: string, tagName: string, allowedSignersFile: string, env?: GitEnv, signal?: AbortSignal): Promise<GitSignature> {
  checkArgument('tag', tagName);
  await checkSignersFile(allowedSignersFile);
  const ref = tagName.startsWith('refs/') ? tagName : `refs/tags/${tagName}`;
  const result = await git(gitDir, ['-c', `gpg.ssh.allowedSignersFile=${allowedSignersFile}`, 'verify-tag', '--end-of-options', ref], env, signal);
  const subject = `tag ${tagName}`;
  if (result.code !== 0) {
    const out = result.stderr;
    if (/non-tag object/.test(out)) throw new VerificationError(`${subject} is a lightweight tag and cannot carry a signature; sign it with git tag -s`);
    if (/no signature found/i.test(out)) throw new VerificationError(`${subject} is not signed; git-verify = tag requires a tag signed by a key listed in ${allowedSignersFile}`);
    const key = /key (SHA256:\S+)/.exec(out)?.[1];
    if (/No principal matched/i.test(out)) {
      throw new VerificationError(`${subject} is signed by key ${key ?? 'unknown'}, which is not listed in ${allowedSignersFile}`);
    }
    throw new VerificationError(`${subject} could not be verified against ${allowedSignersFile}: ${lastLines(out)}`);
  }
  // The signature covers the name written inside the tag object, not the ref it is published
  // under: an old signed `v1` re-published as `v2` would otherwise deploy old code as new.
  const object = await git(gitDir, ['cat-file', 'tag', ref], env, signal);
  const signedName = /^tag (.*)$/m.exec(object.stdout.split('\n\n')[0] ?? '')?.[1];
  const name = ref.slice('refs/tags/'.length);
  if (signedName !== name) {
    throw new VerificationError(`${subject} holds a tag object signed under the name ${JSON.stringify(signedName ?? '')}: a signed tag published under another name is refused`);
  }
  const target = await git(gitDir, ['rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`], env, signal);
  return { ...parseGood(result.stderr), ...(target.code === 0 ? { commit: target.stdout.trim() } : {}) };
}

/**
 * With `git-verify = tag`, only a tag can be deployed: returns the tag name of a
 * `refs/tags/NAME` ref and refuses anything else (a branch, `HEAD`, a bare commit id) with a
 * message saying why. `ref` is the full ref name the remote resolved.
 */
export function requireSignedTag(ref: string): string {
  if (ref.startsWith('refs/tags/') && ref.length > 'refs/tags/'.length) return ref.slice('refs/tags/'.length).replace(/\^\{\}$/, '');
  const what = ref.startsWith('refs/heads/')
    ? `branch ${ref.slice('refs/heads/'.length)}`
    : /^[0-9a-f]{7,64}$/i.test(ref) ? `commit ${ref}` : ref === 'HEAD' || ref === '' ? "the remote's default branch" : `ref ${ref}`;
  throw new VerificationError(`git-verify = tag requires the remote to name a signed tag (…#v1.2.3), but it names ${what}`);
}

/**
 * The whole git policy of `verify`, for the git remote: nothing without allowed signers;
 * `commit` (default) verifies the deployed commit; `tag` requires `ref` to be a signed tag
 * that points at `commit`.
 */
export async function verifyGitVersion(
  gitDir: string,
  version: { commit: string; ref: string },
  verify: VerifyConfig,
  env?: GitEnv,
  signal?: AbortSignal,
): Promise<GitSignature | undefined> {
  if (!verify.gitAllowedSigners) return undefined;
  if ((verify.gitVerify ?? 'commit') === 'commit') return verifyCommitSignature(gitDir, version.commit, verify.gitAllowedSigners, env, signal);
  const tag = requireSignedTag(version.ref);
  const signature = await verifyTagSignature(gitDir, tag, verify.gitAllowedSigners, env, signal);
  if (signature.commit && signature.commit !== version.commit) {
    throw new VerificationError(`signed tag ${tag} points at commit ${signature.commit}, but the commit to deploy is ${version.commit}`);
  }
  return signature;
}

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Silence allowed to one verification command (it reads only local objects). */
const checkTimeoutMs = 60_000;

/** Runs git through the agent's one git spawner (`remotes/git/run.ts`), failures included. */
async function git(cwd: string, args: string[], env: GitEnv | undefined, signal: AbortSignal | undefined): Promise<GitResult> {
  try {
    // LC_ALL=C: refusals are explained from git's English messages.
    const result = await runLocalGit(args, { cwd, env: { ...env, LC_ALL: 'C' }, limitMs: checkTimeoutMs, ...(signal ? { signal } : {}) });
    return { code: result.code ?? 1, stdout: result.stdout, stderr: result.stderr };
  } catch (error) {
    // Stopping the agent is not a verdict on the commit.
    if (signal?.aborted && isTimeoutOrAbort(error)) throw error;
    throw new VerificationError(`could not run git in ${cwd} to verify a signature: ${messageOf(error)}`, { cause: error });
  }
}

function parseGood(stderr: string): GitSignature {
  const match = /Good "git" signature for (.+?) with \S+ key (\S+)/.exec(stderr);
  return match ? { signer: match[1]!, key: match[2]! } : {};
}

/** Refuses values git would read as options: ids and tag names never start with `-`. */
function checkArgument(what: string, value: string): void {
  if (!value || value.startsWith('-')) throw new VerificationError(`invalid ${what} name to verify: ${JSON.stringify(value)}`);
}

async function checkSignersFile(file: string): Promise<void> {
  try {
    await access(file, constants.R_OK);
  } catch (error) {
    throw new VerificationError(`allowed signers file ${file} cannot be read: ${(error as Error).message}`, { cause: error });
  }
}

function lastLines(text: string): string {
  const lines = text.trim().split('\n').filter(Boolean);
  return lines.slice(-3).join('; ') || 'no output from git';
}
