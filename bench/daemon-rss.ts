// Daemon memory benchmark (issue 8): the built CLI as a daemon checking an unchanged HTTP remote
// every second, idling for a minute (quick: 15 s) while we sample its resident set from /proc.
// Two daemons idle side by side over the same window: one that made the first deploy itself
// (what a host that has deployed once pays: the headline figure) and one started on a deploy
// dir that `-f` had already brought up to date (the floor: node, the agent, idle checks).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureZip } from './data.js';
import { cleanEnv, cliBin, emptyHookDirs, expectVersion, procStatusMiB, progress, round, runCli, scratch, sleep } from './lib.js';
import { startStaticServer } from './servers.js';

/** Options for `benchDaemonRss`. */
export interface DaemonBenchOptions {
  quick?: boolean;
  /** Idle time after the first deploy, in seconds (default 60; quick 15). */
  idleSeconds?: number;
}

/** What `benchDaemonRss` measured. */
export interface DaemonBenchResult {
  /** VmRSS at the end of the idle time, of the daemon that deployed at start. */
  daemon_idle_rss_mib: number;
  /** Highest VmRSS sampled during the idle time, and its high-water mark since start. */
  daemon_idle_rss_max_mib: number;
  daemon_peak_rss_mib: number;
  /** VmRSS at the end of the idle time, of the daemon that never had to deploy. */
  daemon_idle_rss_mib_predeployed: number;
  daemon_idle_seconds: number;
  /** Requests both daemons made during the idle time (about two a second), and body bytes. */
  daemon_idle_requests: number;
  daemon_idle_body_bytes: number;
}

const zipName = 'http-1000.zip';

/** Starts both daemons on a served zip, waits for the deploys, then idles and samples. */
export async function benchDaemonRss(options: DaemonBenchOptions = {}): Promise<DaemonBenchResult> {
  const idleSeconds = options.idleSeconds ?? (options.quick ? 15 : 60);
  const archive = await ensureZip(zipName, { files: 1000, blobBytes: 16e6, version: 'http-v1' });
  const work = scratch('daemon');
  const server = await startStaticServer(join(archive, '..'));
  const daemons: Daemon[] = [];
  try {
    const fresh = join(work, 'fresh');
    const ready = join(work, 'predeployed');
    const url = server.url(zipName);
    writeConfig(ready, url);
    await runCli(['-c', join(ready, 'repo-deploy.cfg'), '-f'], { env: cleanEnv() });
    daemons.push(startDaemon(writeConfig(fresh, url)), startDaemon(join(ready, 'repo-deploy.cfg')));
    const deadline = Date.now() + 60_000;
    while (!existsSync(join(fresh, 'deploy', 'current', 'version.txt'))) {
      for (const d of daemons) if (d.child.exitCode !== null) throw new Error(`daemon exited ${d.child.exitCode} before idling: ${d.tail()}`);
      if (Date.now() > deadline) throw new Error('daemon did not deploy within 60 s');
      await sleep(100);
    }
    expectVersion(join(fresh, 'deploy', 'current'), 'http-v1');
    progress(`daemons up; idling ${idleSeconds} s with a check every second...`);
    server.reset();
    let max = 0;
    for (let s = 0; s < idleSeconds; s++) {
      await sleep(1000);
      for (const d of daemons) if (d.child.exitCode !== null) throw new Error(`daemon exited ${d.child.exitCode} while idle: ${d.tail()}`);
      max = Math.max(max, procStatusMiB(daemons[0]!.child.pid!, 'VmRSS'));
    }
    const [rss, peak, floor] = [procStatusMiB(daemons[0]!.child.pid!, 'VmRSS'), procStatusMiB(daemons[0]!.child.pid!, 'VmHWM'), procStatusMiB(daemons[1]!.child.pid!, 'VmRSS')];
    const seen = { ...server.counters };
    progress(`daemon idle: VmRSS ${rss.toFixed(1)} MiB (max ${max.toFixed(1)}, peak ${peak.toFixed(1)}); never deployed: ${floor.toFixed(1)} MiB; ${seen.requests} requests, ${seen.bodyBytes} body bytes`);
    return {
      daemon_idle_rss_mib: round(rss),
      daemon_idle_rss_max_mib: round(max),
      daemon_peak_rss_mib: round(peak),
      daemon_idle_rss_mib_predeployed: round(floor),
      daemon_idle_seconds: idleSeconds,
      daemon_idle_requests: seen.requests,
      daemon_idle_body_bytes: seen.bodyBytes,
    };
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
    await server.stop();
  }
}

/** Writes `<dir>/repo-deploy.cfg` for a daemon checking `url` every second; returns its path. */
function writeConfig(dir: string, url: string): string {
  const hooks = emptyHookDirs(dir);
  const config = join(dir, 'repo-deploy.cfg');
  const lines = [`remote = ${url}`, `local = ${join(dir, 'deploy', 'current')}`, `cache = ${join(dir, 'cache')}`, `pre-hooks = ${hooks.pre}`, `post-hooks = ${hooks.post}`, 'schedule = */1 * * * * *'];
  writeFileSync(config, `${lines.join('\n')}\n`);
  return config;
}

/** A daemon started by the bench. */
export interface Daemon {
  child: ChildProcess;
  /** The last lines it logged, for error messages. */
  tail(): string;
  /** SIGTERM, then SIGKILL if it has not stopped within 15 s. */
  stop(): Promise<void>;
}

/** Starts the built CLI as a daemon on `config`; `onLine` gets each line it prints. */
export function startDaemon(config: string, onLine?: (line: string) => void): Daemon {
  const child = spawn(process.execPath, [cliBin, '-c', config], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-4000);
      if (!onLine) return;
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) onLine(line);
    });
  }
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    child,
    tail: () => tail.trim().split('\n').slice(-3).join(' | '),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 15_000)))]);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) {
        progress('daemon did not stop within 15 s of SIGTERM; killing it');
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
