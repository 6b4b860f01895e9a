import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AppConfig } from '../config/types.js';
import { RepoDeployError, ExitCode, LockBusyError } from '../errors.js';
import { acquireDaemonLock, type Lock } from '../pipeline/lock.js';
import { readState, statePath, type CheckRecord } from '../pipeline/state.js';
import { makePrivateDir, privateFileMode } from '../util/modes.js';
import { processAlive } from '../util/process-alive.js';

/** No daemon runs for the app `check` was asked about. */
export class NoDaemonError extends RepoDeployError {
  readonly exitCode = ExitCode.failed;
}

const pidFileOf = (app: AppConfig) => join(app.deployDir, '.repo-deploy', 'daemon.pid');

/**
 * Records the daemon's pid beside each app's state, so `repo-deploy check APP` can find it
 * with the same options that find the app.
 */
export async function writePidFiles(apps: readonly AppConfig[]): Promise<string[]> {
  const files = apps.map(pidFileOf);
  for (const file of files) {
    await makePrivateDir(dirname(file), { readableParents: true });
    // Removed first: writeFile keeps the mode of a file left by an older version.
    await rm(file, { force: true });
    await writeFile(file, `${process.pid}\n`, { mode: privateFileMode });
  }
  return files;
}

/** Removes the pid files this daemon wrote (only if they still name it). */
export async function removePidFiles(files: readonly string[]): Promise<void> {
  for (const file of files) {
    const pid = await readFile(file, 'utf8').catch(() => '');
    if (pid.trim() === String(process.pid)) await rm(file, { force: true });
  }
}

/**
 * Asks the daemon running each app to check now (SIGUSR1: the daemon then checks all its
 * apps; a check of an unchanged remote costs one request). Returns the pids signalled.
 */
export async function requestCheck(apps: readonly AppConfig[]): Promise<number[]> {
  const pids = new Set<number>();
  for (const app of apps) {
    const file = pidFileOf(app);
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) {
      throw new NoDaemonError(`no repo-deploy daemon is running for app ${app.name} (no live pid in ${file}); start it, or run repo-deploy -f`);
    }
    pids.add(pid);
  }
  for (const pid of pids) process.kill(pid, 'SIGUSR1');
  return [...pids];
}


/**
 * Takes the daemon lock of every app, so a second daemon for one of them refuses to start
 * (exit 75) naming the one that runs. Released when this daemon exits (by the kernel, even
 * after kill -9).
 */
export async function claimApps(apps: readonly AppConfig[]): Promise<Lock[]> {
  const locks: Lock[] = [];
  try {
    for (const app of apps) {
      const busy = () => {
        const file = pidFileOf(app);
        return new LockBusyError(`a repo-deploy daemon already runs app ${app.name} (deploy dir ${app.deployDir}${runningPid(file)}); stop it first, or use repo-deploy check to ask it to check now`);
      };
      locks.push(await acquireDaemonLock(app.deployDir, busy));
    }
    return locks;
  } catch (error) {
    await Promise.all(locks.map((l) => l.release()));
    throw error;
  }
}

function runningPid(file: string): string {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? `, pid ${pid}` : '';
  } catch {
    return '';
  }
}

/**
 * Waits until each app's state records a check that ended after `since` (the check `check`
 * asked for, or one that was already running and ended after the request). Returns the
 * records, or null for an app whose daemon did not finish one in `timeoutMs`.
 */
export async function waitForChecks(apps: readonly AppConfig[], since: Date, timeoutMs: number, daemons: readonly number[]): Promise<(CheckRecord | null)[]> {
  const deadline = Date.now() + timeoutMs;
  const results: (CheckRecord | null)[] = apps.map(() => null);
  for (;;) {
    // Read after the liveness test: a daemon that recorded its outcome and then exited counts.
    const gone = !daemons.some(processAlive);
    for (const [i, app] of apps.entries()) {
      if (results[i]) continue;
      const last = (await readState(statePath(app.deployDir)).catch(() => undefined))?.lastCheck;
      if (last && new Date(last.at) >= since) results[i] = last;
    }
    // A daemon that died (or was stopped) will not record anything: no point waiting it out.
    if (results.every(Boolean) || gone || Date.now() >= deadline) return results;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
