// 50 apps in one daemon (issue 19): each its own local directory remote and a one-minute
// schedule. After the first deploys of all of them, the daemon's resident set, and how long one
// idle round of checks (every app, nothing new) takes: the daemon is asked to check now
// (SIGUSR1, what `repo-deploy check` sends) and each app's state records when its check ended.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon } from './daemon-rss.js';
import { writeTextTree } from './data.js';
import { emptyHookDirs, fdCount, procStatusMiB, progress, round, scratch, sleep } from './lib.js';

/** Options for `benchManyApps`. */
export interface ManyAppsOptions {
  apps?: number;
  /** Idle rounds timed; the median is reported (default 5). */
  rounds?: number;
}

/** What `benchManyApps` measured. */
export interface ManyAppsResult {
  daemon_50_apps_rss_mib: number;
  daemon_50_apps_peak_rss_mib: number;
  daemon_50_apps_fds: number;
  daemon_50_apps_idle_round_ms: number;
  daemon_50_apps_first_deploys_seconds: number;
}

/** Starts the daemon on `apps` local remotes, waits for their deploys, then times idle rounds. */
export async function benchManyApps(options: ManyAppsOptions = {}): Promise<ManyAppsResult> {
  const apps = options.apps ?? 50;
  const rounds = options.rounds ?? 5;
  const base = scratch('many-apps');
  const hooks = emptyHookDirs(join(base, 'hooks'));
  const names = Array.from({ length: apps }, (_, i) => `app${i}`);
  const sections = names.map((name) => {
    writeTextTree(join(base, 'remotes', name), { files: 100, version: `${name}-1` });
    return [`[app ${name}]`, `remote = ${join(base, 'remotes', name)}`, `local = ${join(base, 'deploy', name, 'current')}`, `pre-hooks = ${hooks.pre}`, `post-hooks = ${hooks.post}`, 'schedule = * * * * *'].join('\n');
  });
  const config = join(base, 'repo-deploy.cfg');
  writeFileSync(config, `cache = ${join(base, 'cache')}\n\n${sections.join('\n\n')}\n`);
  let deploys = 0;
  const started = Date.now();
  const daemon: Daemon = startDaemon(config, (line) => {
    if (line.includes('"msg":"deployed"')) deploys += 1;
  });
  const pid = daemon.child.pid!;
  try {
    while (deploys < apps) {
      if (daemon.child.exitCode !== null) throw new Error(`daemon exited ${daemon.child.exitCode}: ${daemon.tail()}`);
      if (Date.now() - started > 300_000) throw new Error(`only ${deploys} of ${apps} apps deployed within 300 s`);
      await sleep(100);
    }
    const firstDeploys = (Date.now() - started) / 1000;
    progress(`${apps} apps deployed in ${firstDeploys.toFixed(1)} s; timing ${rounds} idle rounds...`);
    await sleep(3000);
    const lastCheckAt = (name: string) => {
      const state = JSON.parse(readFileSync(join(base, 'deploy', name, '.repo-deploy', 'state.json'), 'utf8')) as { lastCheck?: { at: string } };
      return state.lastCheck ? Date.parse(state.lastCheck.at) : 0;
    };
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      // Not across a minute boundary: the schedule's own round would mix in.
      while (new Date().getSeconds() > 50) await sleep(500);
      const asked = Date.now();
      daemon.child.kill('SIGUSR1');
      let ends: number[] = [];
      while ((ends = names.map(lastCheckAt)).some((at) => at < asked)) {
        if (Date.now() - asked > 60_000) throw new Error('an idle round took over 60 s');
        await sleep(20);
      }
      times.push(Math.max(...ends) - asked);
      await sleep(1000);
    }
    // Idle from here: the daemon's collection after a round (a second after it) has run.
    await sleep(3000);
    const rss = procStatusMiB(pid, 'VmRSS');
    const sorted = [...times].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    progress(`${apps} apps idle: VmRSS ${rss.toFixed(1)} MiB (peak ${procStatusMiB(pid, 'VmHWM').toFixed(1)}), ${fdCount(pid)} fds; idle rounds (ms): ${times.join(', ')}`);
    return {
      daemon_50_apps_rss_mib: round(rss),
      daemon_50_apps_peak_rss_mib: round(procStatusMiB(pid, 'VmHWM')),
      daemon_50_apps_fds: fdCount(pid),
      daemon_50_apps_idle_round_ms: median,
      daemon_50_apps_first_deploys_seconds: round(firstDeploys),
    };
  } finally {
    await daemon.stop();
  }
}
