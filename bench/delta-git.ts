// Delta git deploy benchmark: a repository of 20,000 files behind a real `git daemon`; each
// round commits a one-file change. The agent deploys it cloning the 19,999 unchanged files
// from the current release, against what an operator would script for a new release
// directory: `git fetch --depth 1` in an existing shallow clone, `git archive FETCH_HEAD |
// tar -x` into a new directory, `ln -sfn` (the ratio's baseline: both sides end with a new,
// independent directory). Also timed, for the record: the agent writing the whole tree
// (`reuse-files = false`), the agent hard linking instead of copying (`reuse-hardlinks =
// true`), and `git fetch` + `git checkout` updating one clone in place (no new directory: the
// cheapest thing git can do, but not an immutable release).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeTextTree } from './data.js';
import { cleanEnv, emptyHookDirs, expectVersion, progress, round, run, runCli, scratch, settleDisk, sh, type RunResult } from './lib.js';
import { startGitDaemon } from './servers.js';

/** Options for `benchDeltaGit`. */
export interface DeltaGitBenchOptions {
  /** Two timed rounds instead of three (one new commit each, alternating which side goes first). */
  quick?: boolean;
}

/** What `benchDeltaGit` measured (best round of each side, seconds). */
export interface DeltaGitBenchResult {
  delta_git_ratio_vs_git_cli: number;
  delta_git_seconds: number;
  delta_git_cli_seconds: number;
  delta_git_full_seconds: number;
  delta_git_hardlinks_seconds: number;
  delta_git_hardlinks_ratio_vs_git_cli: number;
  delta_git_checkout_in_place_seconds: number;
  delta_git_repo_files: number;
  /** `reused/total` from the agent's log of its best round. */
  delta_git_files_reused: string;
}

const files = 20_000;
type Side = 'delta' | 'full' | 'links' | 'cli' | 'inPlace';

/** Each side's step for round `i`, and the directory whose `version.txt` it must leave. */
interface Sides {
  steps: Record<Side, (i: number) => Promise<RunResult>>;
  where: Record<Side, string>;
  url: string;
}

/** The commands of each side against `url`, with their directories under `base`. */
function sidesOf(base: string, url: string, env: NodeJS.ProcessEnv): Sides {
  const hooks = emptyHookDirs(base);
  const agentArgs = (name: string, config: string) => {
    const cfg = join(base, `${name}.cfg`);
    writeFileSync(cfg, config);
    return ['-c', cfg, '-f', '--cache', join(base, `${name}-cache`), '--pre-hooks', hooks.pre, '--post-hooks', hooks.post, url, join(base, name, 'current')];
  };
  const agents = { delta: agentArgs('delta', ''), full: agentArgs('full', 'reuse-files = false\n'), links: agentArgs('links', 'reuse-hardlinks = true\n') };
  const cli = join(base, 'cli');
  const inPlace = join(base, 'in-place');
  return {
    url,
    steps: {
      delta: () => runCli(agents.delta, { env }),
      full: () => runCli(agents.full, { env }),
      links: () => runCli(agents.links, { env }),
      cli: (i) =>
        sh(`cd "${cli}" && git -C shallow.git fetch -q --depth 1 origin main && mkdir rel-${i} && git -C shallow.git archive FETCH_HEAD | tar -x -C rel-${i} && ln -sfn rel-${i} current`, { env }),
      inPlace: () => sh(`cd "${inPlace}" && git fetch -q --depth 1 origin main && git checkout -q --detach FETCH_HEAD`, { env }),
    },
    where: { delta: join(base, 'delta', 'current'), full: join(base, 'full', 'current'), links: join(base, 'links', 'current'), cli: join(cli, 'current'), inPlace },
  };
}

/** Builds the repository and daemon, deploys once untimed, then times the rounds. */
export async function benchDeltaGit(options: DeltaGitBenchOptions = {}): Promise<DeltaGitBenchResult> {
  const runs = options.quick ? 2 : 3;
  const base = scratch('delta-git');
  const work = join(base, 'work');
  const served = join(base, 'served');
  const env = cleanEnv({ GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid' });
  const git = (cwd: string, ...args: string[]) => run('git', args, { cwd, env });

  progress(`generating a git repository of ${files} files...`);
  writeTextTree(work, { files: files - 1, version: 'delta-v0' });
  await git(base, 'init', '-q', '-b', 'main', work);
  await git(work, 'add', '-A');
  await git(work, 'commit', '-q', '-m', 'v0');
  await git(base, 'clone', '-q', '--bare', work, join(served, 'app.git'));
  const daemon = await startGitDaemon(served);
  const { steps, where, url } = sidesOf(base, `git://127.0.0.1:${daemon.port}/app.git`, env);
  try {
    progress('first deploys (untimed)...');
    for (const side of ['delta', 'full', 'links'] as const) await steps[side](0);
    await sh(`mkdir -p "${join(base, 'cli')}" && cd "${join(base, 'cli')}" && git init -q --bare shallow.git && git -C shallow.git remote add origin "${url}"`, { env });
    await steps.cli(0);
    await sh(`git clone -q --depth 1 "${url}" "${where.inPlace}"`, { env });
    for (const side of Object.keys(where) as Side[]) expectVersion(where[side], 'delta-v0');

    const times: Record<Side, number[]> = { delta: [], full: [], links: [], cli: [], inPlace: [] };
    let reused = '';
    for (let i = 1; i <= runs; i++) {
      // The one-file change.
      writeFileSync(join(work, 'version.txt'), `delta-v${i}\n`);
      await git(work, 'commit', '-q', '-am', `v${i}`);
      await git(work, 'push', '-q', join(served, 'app.git'), 'main');
      const order: Side[] = i % 2 === 1 ? ['delta', 'cli', 'full', 'links', 'inPlace'] : ['inPlace', 'links', 'full', 'cli', 'delta'];
      for (const side of order) {
        await settleDisk();
        const result = await steps[side](i);
        times[side].push(result.seconds);
        expectVersion(where[side], `delta-v${i}`);
        if (side === 'delta' && result.seconds <= Math.min(...times.delta)) reused = /"filesReused":"(\d+\/\d+)"/.exec(result.stderr)?.[1] ?? 'unknown';
      }
      progress(`delta git round ${i}: agent ${times.delta.at(-1)!.toFixed(2)} s (whole tree ${times.full.at(-1)!.toFixed(2)} s, hard links ${times.links.at(-1)!.toFixed(2)} s), git fetch+archive ${times.cli.at(-1)!.toFixed(2)} s, fetch+checkout in place ${times.inPlace.at(-1)!.toFixed(2)} s`);
    }
    const best = (side: Side) => Math.min(...times[side]);
    return {
      delta_git_ratio_vs_git_cli: round(best('delta') / best('cli')),
      delta_git_seconds: round(best('delta')),
      delta_git_cli_seconds: round(best('cli')),
      delta_git_full_seconds: round(best('full')),
      delta_git_hardlinks_seconds: round(best('links')),
      delta_git_hardlinks_ratio_vs_git_cli: round(best('links') / best('cli')),
      delta_git_checkout_in_place_seconds: round(best('inPlace')),
      delta_git_repo_files: files,
      delta_git_files_reused: reused,
    };
  } finally {
    await daemon.stop();
  }
}
