// Daemon soak benchmark (issue 19): one daemon, three apps (HTTP zip, git, local directory),
// each checked every second while the harness gives each remote a new version 1-2 s after
// the last one was deployed, until the daemon has made hundreds of deploys. Its resident set, open descriptors and child
// processes are read from /proc at three idle moments (changes paused, children gone): after
// the first deploys, halfway, and at the end. The daemon lives for months: what it holds after
// 300 deploys must be what it held after 3.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon } from './daemon-rss.js';
import { writeTextTree } from './data.js';
import { childPids, cleanEnv, emptyHookDirs, fdCount, procStatusMiB, progress, round, run, scratch, sleep } from './lib.js';
import { startGitDaemon, startStaticServer, type Running, type StaticServer } from './servers.js';

/** Options for `benchSoak`. */
export interface SoakOptions {
  quick?: boolean;
  /** Deploys (all apps together) before the run ends (default 300; quick 90). */
  deploys?: number;
}

/** What `benchSoak` measured; RSS in MiB, each "idle" figure with changes paused. */
export interface SoakResult {
  daemon_soak_deploys: number;
  daemon_soak_seconds: number;
  daemon_soak_rss_mib_start: number;
  daemon_soak_rss_mib_half: number;
  daemon_soak_rss_mib_end: number;
  daemon_soak_rss_growth_second_half_mib: number;
  /** Highest RSS sampled while deploying (a fetch child's pipes and buffers included). */
  daemon_soak_rss_mib_max: number;
  daemon_soak_fds_start: number;
  daemon_soak_fds_end: number;
  daemon_soak_fds_max: number;
  daemon_soak_children_start: number;
  daemon_soak_children_end: number;
  daemon_soak_failed_checks: number;
}

/** One remote the harness changes: `bump(n)` publishes version n. */
interface Churned {
  app: string;
  remote: string;
  bump(n: number): Promise<void>;
}

/** Runs the soak and returns its figures. */
export async function benchSoak(options: SoakOptions = {}): Promise<SoakResult> {
  const target = options.deploys ?? (options.quick ? 90 : 300);
  const base = scratch('soak');
  const env = cleanEnv({ GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid' });
  const running: Running[] = [];
  let daemon: Daemon | undefined;
  try {
    const remotes = await makeRemotes(base, env, running);
    const config = writeConfig(base, remotes);
    let deploys = 0;
    let failed = 0;
    daemon = startDaemon(config, (line) => {
      if (line.includes('"msg":"deployed"')) deploys += 1;
      else if (line.includes('"msg":"check failed"') || line.includes('"msg":"update failed"')) failed += 1;
    });
    const pid = daemon.child.pid!;
    const alive = () => {
      if (daemon!.child.exitCode !== null) throw new Error(`daemon exited ${daemon!.child.exitCode}: ${daemon!.tail()}`);
    };
    await waitFor(() => (alive(), deploys >= remotes.length), 60_000, 'the first deploys');
    const idleSample = async () => {
      // An idle check holds a socket or git's pipes for a moment: the fewest descriptors and
      // children seen over 3 s is what the daemon keeps.
      await sleep(3000);
      let fds = Infinity;
      let children = Infinity;
      for (let i = 0; i < 30; i++) {
        fds = Math.min(fds, fdCount(pid));
        children = Math.min(children, childPids(pid).length);
        await sleep(100);
      }
      return { rss: procStatusMiB(pid, 'VmRSS'), fds, children };
    };
    const start = await idleSample();
    progress(`soak: first deploys done; idle RSS ${start.rss.toFixed(1)} MiB, ${start.fds} fds; churning until ${target} deploys...`);
    const began = Date.now();
    let max = { rss: 0, fds: 0 };
    const churn = async (until: number) => {
      let stop = false;
      // Each remote gets a new version 1-2 s after the daemon deployed its last one (or gave
      // up on it): on a loaded host a deploy can take longer than the pause, and a local
      // directory changed while the daemon copies it is refused, not deployed.
      const loops = remotes.map(async (r, i) => {
        while (!stop) {
          const n = Date.now() * 10 + i;
          await r.bump(n);
          const bumped = Date.now();
          while (!stop && deployedVersion(base, r.app) !== `${r.app}-${n}` && Date.now() - bumped < 30_000) await sleep(100);
          await sleep(1000 + Math.random() * 1000);
        }
      });
      let said = Date.now();
      while (deploys < until) {
        alive();
        await sleep(1000);
        if (Date.now() - said > 30_000) {
          said = Date.now();
          progress(`soak: ${deploys} deploys, ${failed} failed checks, RSS ${procStatusMiB(pid, 'VmRSS').toFixed(1)} MiB, ${fdCount(pid)} fds`);
        }
        max = { rss: Math.max(max.rss, procStatusMiB(pid, 'VmRSS')), fds: Math.max(max.fds, fdCount(pid)) };
      }
      stop = true;
      await Promise.all(loops);
    };
    await churn(Math.ceil(target / 2));
    const half = await idleSample();
    progress(`soak: ${deploys} deploys; idle RSS ${half.rss.toFixed(1)} MiB, ${half.fds} fds`);
    await churn(target);
    const seconds = (Date.now() - began) / 1000;
    const end = await idleSample();
    progress(`soak: ${deploys} deploys in ${seconds.toFixed(0)} s (${failed} failed checks); idle RSS ${end.rss.toFixed(1)} MiB, ${end.fds} fds, ${end.children} children; max while deploying ${max.rss.toFixed(1)} MiB, ${max.fds} fds`);
    return {
      daemon_soak_deploys: deploys,
      daemon_soak_seconds: Math.round(seconds),
      daemon_soak_rss_mib_start: round(start.rss),
      daemon_soak_rss_mib_half: round(half.rss),
      daemon_soak_rss_mib_end: round(end.rss),
      daemon_soak_rss_growth_second_half_mib: round(end.rss - half.rss),
      daemon_soak_rss_mib_max: round(max.rss),
      daemon_soak_fds_start: start.fds,
      daemon_soak_fds_end: end.fds,
      daemon_soak_fds_max: max.fds,
      daemon_soak_children_start: start.children,
      daemon_soak_children_end: end.children,
      daemon_soak_failed_checks: failed,
    };
  } finally {
    await daemon?.stop();
    for (const r of running) await r.stop();
  }
}

/** The three remotes, each at version 0, with the servers they need started into `running`. */
async function makeRemotes(base: string, env: NodeJS.ProcessEnv, running: Running[]): Promise<Churned[]> {
  const files = 100;
  // HTTP: a zip served with ETags, rewritten by `zip` and renamed into place.
  const httpTree = join(base, 'http-tree');
  const served = join(base, 'served');
  writeTextTree(httpTree, { files, version: 'http-0' });
  const zipTo = async (n: number) => {
    writeFileSync(join(httpTree, 'version.txt'), `http-${n}\n`);
    const tmp = join(served, 'app.tmp.zip');
    await run('zip', ['-q', '-r', '-y', tmp, '.'], { cwd: httpTree });
    renameSync(tmp, join(served, 'app.zip'));
  };
  await run('mkdir', ['-p', served]);
  await zipTo(0);
  const http: StaticServer = await startStaticServer(served);
  running.push(http);
  // git: commits pushed to a bare repository behind `git daemon`.
  const work = join(base, 'git-work');
  const bare = join(base, 'git-served', 'app.git');
  const git = (cwd: string, ...args: string[]) => run('git', args, { cwd, env });
  writeTextTree(work, { files, version: 'git-0' });
  await git(base, 'init', '-q', '-b', 'main', work);
  await git(work, 'add', '-A');
  await git(work, 'commit', '-q', '-m', 'v0');
  await git(base, 'clone', '-q', '--bare', work, bare);
  const gitDaemon = await startGitDaemon(join(base, 'git-served'));
  running.push(gitDaemon);
  // Local: a directory whose version.txt is replaced.
  const local = join(base, 'local-tree');
  writeTextTree(local, { files, version: 'local-0' });
  return [
    { app: 'http', remote: http.url('app.zip'), bump: zipTo },
    {
      app: 'git',
      remote: `git://127.0.0.1:${gitDaemon.port}/app.git`,
      async bump(n) {
        writeFileSync(join(work, 'version.txt'), `git-${n}\n`);
        await git(work, 'commit', '-q', '-am', `v${n}`);
        await git(work, 'push', '-q', bare, 'main');
      },
    },
    {
      app: 'local',
      remote: local,
      async bump(n) {
        writeFileSync(join(base, 'local-version.tmp'), `local-${n}\n`);
        renameSync(join(base, 'local-version.tmp'), join(local, 'version.txt'));
      },
    },
  ];
}

/** One `[app NAME]` section per remote, all checked every second (6-field cron). */
function writeConfig(base: string, remotes: readonly Churned[]): string {
  const sections = remotes.map((r) => {
    const hooks = emptyHookDirs(join(base, 'hooks', r.app));
    return [`[app ${r.app}]`, `remote = ${r.remote}`, `local = ${join(base, 'deploy', r.app, 'current')}`, `pre-hooks = ${hooks.pre}`, `post-hooks = ${hooks.post}`, 'schedule = */1 * * * * *'].join('\n');
  });
  const config = join(base, 'repo-deploy.cfg');
  writeFileSync(config, `cache = ${join(base, 'cache')}\n\n${sections.join('\n\n')}\n`);
  return config;
}

/** The version.txt of what `current` holds for an app (every remote writes `<app>-<n>`). */
function deployedVersion(base: string, app: string): string | undefined {
  try {
    return readFileSync(join(base, 'deploy', app, 'current', 'version.txt'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

async function waitFor(ready: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}
