import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestRepo } from './git-repos.js';
import type { FixtureEntry } from './tmp.js';
import { testdir } from './tmp.js';

/**
 * Real SSH signing keys (ssh-keygen) and signed commits and tags made by real git, for the
 * signature tests of the git remote. Keys are fresh per test file and have no passphrase.
 */

/** An ed25519 key pair made by ssh-keygen. */
export interface SigningKey {
  /** Private key file (the public one is `${path}.pub`). */
  path: string;
  /** `SHA256:…` fingerprint, as git reports the signer's key. */
  fingerprint: string;
}

/** Generates a key named `name` in a fresh temp dir. */
export function signingKey(name: string): SigningKey {
  const path = join(testdir(), name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path], { stdio: 'pipe' });
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${path}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
  return { path, fingerprint };
}

/** Writes an allowed-signers file listing `principal` for each key; returns its path. */
export function allowedSigners(entries: Array<[principal: string, key: SigningKey]>): string {
  const file = join(testdir(), 'allowed_signers');
  writeFileSync(file, entries.map(([who, key]) => `${who} ${readFileSync(`${key.path}.pub`, 'utf8').trim()}\n`).join(''));
  return file;
}

/** `git -c …` options that make git sign with `key` (SSH format). */
export function signWith(key: SigningKey): string[] {
  return ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${key.path}`];
}

/**
 * Commits everything in the work tree (after writing `files`), signed by `key`, and pushes the
 * current branch. Returns the commit id.
 */
export function signedCommit(repo: TestRepo, key: SigningKey, message: string, files?: Record<string, FixtureEntry>): string {
  if (files) repo.write(files);
  repo.git('add', '-A');
  repo.git(...signWith(key), 'commit', '--quiet', '-S', '--allow-empty', '-m', message);
  repo.git('push', '--quiet', '--force', 'origin', `HEAD:refs/heads/${repo.branch}`);
  return repo.head();
}

/**
 * Tags the work tree's HEAD as `name` and pushes the tag: signed by `key`, annotated but
 * unsigned (`'annotated'`) or lightweight (`'light'`).
 */
export function pushTag(repo: TestRepo, name: string, how: SigningKey | 'annotated' | 'light'): void {
  if (how === 'light') repo.git('tag', '--force', name);
  else if (how === 'annotated') repo.git('tag', '--force', '-a', '-m', `release ${name}`, name);
  else repo.git(...signWith(how), 'tag', '--force', '-s', '-m', `release ${name}`, name);
  repo.git('push', '--quiet', '--force', 'origin', `refs/tags/${name}`);
}
