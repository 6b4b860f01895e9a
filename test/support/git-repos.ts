import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { testdir, writeTree, type FixtureEntry } from './tmp.js';

/**
 * Real git repositories for the git remote's tests: a bare repository (what the agent pulls
 * from) and a work tree that commits and pushes into it. Nothing here depends on the machine's
 * global or system git config.
 */

// Child processes (our git commands and the remote's) inherit these.
process.env.GIT_CONFIG_GLOBAL = '/dev/null';
process.env.GIT_CONFIG_NOSYSTEM = '1';

const identity = ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false'];

/** Runs git in `cwd` with a fixed identity; returns trimmed stdout. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', [...identity, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Options for `TestRepo.create`. */
export interface TestRepoOptions {
  /** Default branch of the bare repository (its HEAD). Default `main`. */
  defaultBranch?: string;
  /** Directory name of the bare repository, e.g. `app.git`. */
  name?: string;
  /** Directory to create it in (default: a fresh temp dir). */
  baseDir?: string;
}

/** A bare repository plus a work tree that pushes into it. */
export class TestRepo {
  private constructor(
    /** Path of the bare repository. */
    readonly bare: string,
    /** Path of the work tree used to make commits. */
    readonly work: string,
    /** Branch the work tree is on. */
    public branch: string,
  ) {}

  /** Creates an empty bare repository whose HEAD is `defaultBranch`, and its work tree. */
  static create(options: TestRepoOptions = {}): TestRepo {
    const base = options.baseDir ?? testdir();
    const branch = options.defaultBranch ?? 'main';
    const bare = join(base, options.name ?? 'app.git');
    const work = join(base, `${options.name ?? 'app.git'}.work`);
    mkdirSync(bare, { recursive: true });
    git(bare, '-c', `init.defaultBranch=${branch}`, 'init', '--quiet', '--bare');
    git(base, '-c', `init.defaultBranch=${branch}`, 'init', '--quiet', work);
    git(work, 'remote', 'add', 'origin', bare);
    return new TestRepo(bare, work, branch);
  }

  /** `file://` URL of the bare repository. */
  get url(): string {
    return pathToFileURL(this.bare).href;
  }

  /** Writes files into the work tree. */
  write(files: Record<string, FixtureEntry>): this {
    writeTree(this.work, files);
    return this;
  }

  /** Removes paths from the work tree. */
  remove(...paths: string[]): this {
    for (const p of paths) rmSync(join(this.work, p), { recursive: true, force: true });
    return this;
  }

  /** Commits everything and pushes the current branch; returns the new commit id. */
  commit(message = 'change', files?: Record<string, FixtureEntry>): string {
    if (files) this.write(files);
    git(this.work, 'add', '-A');
    git(this.work, 'commit', '--quiet', '--allow-empty', '-m', message);
    git(this.work, 'push', '--quiet', '--force', 'origin', `HEAD:refs/heads/${this.branch}`);
    return this.head();
  }

  /** Commit id of the work tree's HEAD. */
  head(): string {
    return git(this.work, 'rev-parse', 'HEAD');
  }

  /** Runs git in the work tree. */
  git(...args: string[]): string {
    return git(this.work, ...args);
  }

  /** Switches the work tree to `branch` (created from HEAD when new). */
  checkout(branch: string): this {
    git(this.work, 'checkout', '--quiet', '-B', branch);
    this.branch = branch;
    return this;
  }

  /** Tree id of `path` at the work tree's HEAD. */
  treeOf(path: string): string {
    return git(this.work, 'rev-parse', `HEAD:${path}`);
  }
}
