import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VerificationError } from '../../src/errors.js';
import {
  verifyCommitSignature,
  verifyTagSignature,
  requireSignedTag,
  verifyGitVersion,
} from '../../src/verify/git-signature.js';
import { testdir } from '../support/tmp.js';

// Commits and tags are signed by real git with real SSH keys (ssh-keygen), and verified by git.

const root = testdir();
// Own HOME: neither the test host's git config nor its keys can change the outcome.
const env = { HOME: root, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'ci', GIT_AUTHOR_EMAIL: 'ci@example.com', GIT_COMMITTER_NAME: 'ci', GIT_COMMITTER_EMAIL: 'ci@example.com' };

function run(cmd: string, args: string[], cwd = root, input?: string): string {
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  if (r.error) throw new Error(`${cmd} could not run: ${r.error.message}`);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

function key(name: string): { path: string; fingerprint: string } {
  const path = join(root, name);
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path]);
  return { path, fingerprint: run('ssh-keygen', ['-l', '-f', `${path}.pub`]).split(' ')[1]! };
}

const trusted = key('release');
const stranger = key('stranger');
const signers = join(root, 'allowed_signers');
writeFileSync(signers, `release@example.com ${readFileSync(`${trusted.path}.pub`, 'utf8')}`);

const repo = join(root, 'origin');
run('git', ['init', '-q', '-b', 'main', repo]);
const git = (...args: string[]) => run('git', args, repo);
const signing = (k: { path: string }) => ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${k.path}`];
const commitFile = (name: string, extra: string[], message: string): string => {
  writeFileSync(join(repo, name), `${message}\n`);
  git('add', name);
  git(...extra, 'commit', '-q', '-m', message);
  return git('rev-parse', 'HEAD');
};

const unsigned = commitFile('a', [], 'unsigned');
const byStranger = commitFile('b', [...signing(stranger), '-c', 'commit.gpgSign=true'], 'by stranger');
const signed = commitFile('c', [...signing(trusted), '-c', 'commit.gpgSign=true'], 'signed');
git(...signing(trusted), 'tag', '-s', '-m', 'release v1', 'v1');
git(...signing(stranger), 'tag', '-s', '-m', 'stranger v2', 'v2');
git('tag', '-a', '-m', 'unsigned v3', 'v3');
git('tag', 'light');
git(...signing(trusted), 'tag', '-s', '-m', 'old', 'old', unsigned);

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => assert.fail('verification should have failed'), (e: unknown) => e);
  assert.ok(error instanceof VerificationError, `expected VerificationError, got ${String(error)}`);
  return error.message;
}

test('signed commit by a listed key: accepted, signer and key reported', async () => {
  const result = await verifyCommitSignature(repo, signed, signers, env);
  assert.deepEqual(result, { signer: 'release@example.com', key: trusted.fingerprint });
});

test('unsigned commit: refused, naming the commit', async () => {
  const message = await refusal(verifyCommitSignature(repo, unsigned, signers, env));
  assert.equal(message, `commit ${unsigned} is not signed; git-allowed-signers requires a signature by a key listed in ${signers}`);
});

test('commit signed by an unlisted key: refused, naming the key found', async () => {
  const message = await refusal(verifyCommitSignature(repo, byStranger, signers, env));
  assert.equal(message, `commit ${byStranger} is signed by key ${stranger.fingerprint}, which is not listed in ${signers}`);
});

test('commit altered after signing: refused as a bad signature', async () => {
  const raw = git('cat-file', 'commit', signed).replace(/\nsigned$/, '\nsigned, then altered');
  const forged = run('git', ['hash-object', '-t', 'commit', '-w', '--stdin'], repo, `${raw}\n`);
  assert.notEqual(forged, signed);
  const message = await refusal(verifyCommitSignature(repo, forged, signers, env));
  assert.match(message, new RegExp(`^commit ${forged} has a bad signature`));
});

test('shallow clone (depth 1): the commit signature still verifies', async () => {
  const shallow = join(root, 'shallow');
  run('git', ['clone', '-q', '--depth', '1', '--branch', 'main', `file://${repo}`, shallow]);
  assert.equal(run('git', ['rev-parse', '--is-shallow-repository'], shallow), 'true');
  assert.equal((await verifyCommitSignature(shallow, signed, signers, env)).signer, 'release@example.com');
});

test('signed tag by a listed key: accepted, with the commit it points at', async () => {
  const result = await verifyTagSignature(repo, 'v1', signers, env);
  assert.deepEqual(result, { signer: 'release@example.com', key: trusted.fingerprint, commit: signed });
});

test('tag fetched at depth 1 into a bare mirror: verifies', async () => {
  const mirror = join(root, 'mirror.git');
  run('git', ['init', '-q', '--bare', mirror]);
  run('git', ['fetch', '-q', '--depth', '1', `file://${repo}`, 'refs/tags/v1:refs/tags/v1'], mirror);
  assert.equal((await verifyTagSignature(mirror, 'refs/tags/v1', signers, env)).commit, signed);
});

test('tags that are not signed by a listed key: refused with what was found', async () => {
  assert.match(await refusal(verifyTagSignature(repo, 'v2', signers, env)), new RegExp(`^tag v2 is signed by key ${stranger.fingerprint.replace(/[+/]/g, '\\$&')}, which is not listed`));
  assert.match(await refusal(verifyTagSignature(repo, 'v3', signers, env)), /^tag v3 is not signed/);
  assert.match(await refusal(verifyTagSignature(repo, 'light', signers, env)), /^tag light is a lightweight tag/);
  assert.match(await refusal(verifyTagSignature(repo, 'nosuch', signers, env)), /^tag nosuch could not be verified/);
});

test('signed tag required but a branch given: refused before git runs', () => {
  assert.equal(requireSignedTag('refs/tags/v1.2.3'), 'v1.2.3');
  assert.throws(() => requireSignedTag('refs/heads/main'), /git-verify = tag requires the remote to name a signed tag .* but it names branch main$/);
  assert.throws(() => requireSignedTag(signed), new RegExp(`names commit ${signed}$`));
  assert.throws(() => requireSignedTag('HEAD'), /names the remote's default branch$/);
});

test('verifyGitVersion applies the configured policy', async () => {
  const policy = (gitVerify: 'commit' | 'tag') => ({ verifySha256: false, gitAllowedSigners: signers, gitVerify });
  assert.equal(await verifyGitVersion(repo, { commit: unsigned, ref: 'refs/heads/main' }, { verifySha256: false }, env), undefined);
  assert.equal((await verifyGitVersion(repo, { commit: signed, ref: 'refs/heads/main' }, policy('commit'), env))?.key, trusted.fingerprint);
  assert.match(await refusal(verifyGitVersion(repo, { commit: unsigned, ref: 'refs/heads/main' }, policy('commit'), env)), /is not signed/);
  // Tag mode: the commit itself need not be signed, the tag must be, and must point at it.
  assert.equal((await verifyGitVersion(repo, { commit: unsigned, ref: 'refs/tags/old' }, policy('tag'), env))?.commit, unsigned);
  assert.match(await refusal(verifyGitVersion(repo, { commit: signed, ref: 'refs/heads/main' }, policy('tag'), env)), /names branch main/);
  assert.match(await refusal(verifyGitVersion(repo, { commit: signed, ref: 'refs/tags/old' }, policy('tag'), env)), new RegExp(`signed tag old points at commit ${unsigned}, but the commit to deploy is ${signed}`));
});

test('missing allowed-signers file and option-like names: refused', async () => {
  assert.match(await refusal(verifyCommitSignature(repo, signed, join(root, 'none'), env)), /^allowed signers file .*none cannot be read/);
  assert.match(await refusal(verifyCommitSignature(repo, '--help', signers, env)), /invalid commit name/);
});
