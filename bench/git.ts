// Git deploy benchmark (issue 8): a repository of 2,000 files behind a real `git daemon`. After
// a first deploy, each round pushes a new commit and times the agent's second deploy against
// what an operator would script: `git fetch --depth 1` in an existing shallow clone, `git
// archive FETCH_HEAD | tar -x` into a new directory, `ln -sfn`. Then the idle check: one `-f`
// with nothing new, timed, with the git connections it opened counted by a proxy.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeTextTree } from './data.js';
import { bestRounds, cleanEnv, deployPhases, emptyHookDirs, expectVersion, progress, round, run, runCli, scratch, sh, type DeployPhases } from './lib.js';
import { startGitDaemon, startGitProxy } from './servers.js';

/** Options for `benchGit`. */
export interface GitBenchOptions {
  quick?: boolean;
  /** Timed rounds (one new commit each), alternating which side goes first (default 3). */
  runs?: number;
}

/** What `benchGit` measured. */
export interface GitBenchResult {
  git_deploy_ratio_vs_git_cli: number;
  git_deploy_seconds: number;
  git_cli_seconds: number;
  git_repo_files: number;
  idle_check_ms_git: number;
  /** Connections the idle check opened, and how many listed refs / fetched objects. */
  idle_check_git_connections: number;
  idle_check_git_ls_refs: number;
  idle_check_git_fetches: number;
  /** Where the agent's best run spent its time (see `DeployPhases`), when its log said. */
  git_agent_phases_ms?: DeployPhases;
}

const files = 2000;

/** Builds the repository and daemon, runs the rounds, and the idle check. */
export async function benchGit(options: GitBenchOptions = {}): Promise<GitBenchResult> {
  const runs = options.runs ?? 3;
  const base = scratch('git');
  const work = join(base, 'work');
  const served = join(base, 'served');
  const env = cleanEnv({ GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid' });
  const git = (cwd: string, ...args: string[]) => run('git', args, { cwd, env });

  progress(`generating a git repository of ${files} files...`);
  writeTextTree(work, { files: files - 1, version: 'git-v0' });
  await git(base, 'init', '-q', '-b', 'main', work);
  await git(work, 'add', '-A');
  await git(work, 'commit', '-q', '-m', 'v0');
  await git(base, 'clone', '-q', '--bare', work, join(served, 'app.git'));

  const daemon = await startGitDaemon(served);
  const proxy = await startGitProxy(daemon.port);
  const url = `git://127.0.0.1:${proxy.port}/app.git`;
  const hooks = emptyHookDirs(base);
  const config = join(base, 'empty.cfg');
  writeFileSync(config, '');
  const agentDir = join(base, 'agent');
  const cliArgs = ['-c', config, '-f', '--cache', join(base, 'agent-cache'), '--pre-hooks', hooks.pre, '--post-hooks', hooks.post, url, join(agentDir, 'current')];
  const cli = join(base, 'cli');
  try {
    // First deploys, untimed: the agent builds its mirror, the baseline its shallow clone.
    await runCli(cliArgs, { env });
    expectVersion(join(agentDir, 'current'), 'git-v0');
    await sh(
      `mkdir -p "${cli}" && cd "${cli}" && git init -q --bare shallow.git && git -C shallow.git remote add origin "${url}" ` +
        `&& git -C shallow.git fetch -q --depth 1 origin main && mkdir rel-0 && git -C shallow.git archive FETCH_HEAD | tar -x -C rel-0 && ln -sfn rel-0 current`,
      { env },
    );
    expectVersion(join(cli, 'current'), 'git-v0');

    const agent: number[] = [];
    const phases: Array<DeployPhases | undefined> = [];
    const baseline: number[] = [];
    for (let i = 1; i <= runs; i++) {
      await newCommit(work, i, git);
      await git(work, 'push', '-q', join(served, 'app.git'), 'main');
      const version = `git-v${i}`;
      for (const side of i % 2 === 1 ? (['agent', 'baseline'] as const) : (['baseline', 'agent'] as const)) {
        if (side === 'agent') {
          const result = await runCli(cliArgs, { env });
          agent.push(result.seconds);
          phases.push(deployPhases(result));
          expectVersion(join(agentDir, 'current'), version);
        } else {
          const result = await sh(
            `cd "${cli}" && git -C shallow.git fetch -q --depth 1 origin main && mkdir rel-${i} ` +
              `&& git -C shallow.git archive FETCH_HEAD | tar -x -C rel-${i} && ln -sfn rel-${i} current`,
            { env },
          );
          baseline.push(result.seconds);
          expectVersion(join(cli, 'current'), version);
        }
      }
      progress(`git deploy round ${i}: agent ${agent.at(-1)!.toFixed(2)} s, git fetch+archive ${baseline.at(-1)!.toFixed(2)} s`);
    }

    proxy.reset();
    const idle = await runCli(cliArgs, { env });
    const seen = { ...proxy.counters };
    if (!/up to date/.test(idle.stdout)) progress(`warning: the idle git check did not say "up to date": ${idle.stdout.trim()}`);
    progress(`git idle check: ${(idle.seconds * 1000).toFixed(0)} ms, ${seen.connections} connection(s): ${seen.lsRefs} ls-refs, ${seen.fetches} fetch(es)`);
    const best = bestRounds('git', agent, baseline, phases);
    return {
      git_deploy_ratio_vs_git_cli: round(best.agent / best.baseline),
      git_deploy_seconds: round(best.agent),
      git_cli_seconds: round(best.baseline),
      git_repo_files: files,
      idle_check_ms_git: Math.round(idle.seconds * 1000),
      idle_check_git_connections: seen.connections,
      idle_check_git_ls_refs: seen.lsRefs,
      idle_check_git_fetches: seen.fetches,
      ...(best.phases ? { git_agent_phases_ms: best.phases } : {}),
    };
  } finally {
    await proxy.stop();
    await daemon.stop();
  }
}

/** A typical small change: 20 files edited, one added, `version.txt` bumped. */
async function newCommit(work: string, n: number, git: (cwd: string, ...args: string[]) => Promise<unknown>): Promise<void> {
  for (let k = 0; k < 20; k++) {
    // `writeTextTree` puts file-i in directory d(i % 50).
    const i = (n * 97 + k * 53) % (files - 1);
    const path = join(work, `d${i % 50}`, `file-${i}.txt`);
    writeFileSync(path, `${readFileSync(path, 'utf8')}// change ${n}\n`);
  }
  writeFileSync(join(work, `added-${n}.txt`), `added in round ${n}\n`);
  writeFileSync(join(work, 'version.txt'), `git-v${n}\n`);
  await git(work, 'add', '-A');
  await git(work, 'commit', '-q', '-m', `v${n}`);
}
