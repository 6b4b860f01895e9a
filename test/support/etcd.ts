import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { freePort } from './git-daemon.js';

/**
 * A real single-member etcd (Debian's etcd-server) on 127.0.0.1 with free client and peer ports
 * and a temporary data directory. Tests can stop it mid-run and start it again on the same
 * ports and data, to play an etcd outage. Stopped and removed when the test file ends.
 */

/** A running (or stopped) test etcd. */
export interface TestEtcd {
  /** `http://127.0.0.1:PORT`, the client URL. */
  endpoint: string;
  /** Stops it (SIGTERM, then SIGKILL after 5 s); data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data; resolves once healthy. */
  start(): Promise<void>;
  /** Stops it and removes its data (done by itself when the test file ends, unless told not to). */
  dispose(): Promise<void>;
}

/** Options of `startEtcd`. */
export interface StartEtcdOptions {
  /** Stop and remove it when the test file ends (default true; false outside a test, e.g. a bench). */
  stopWhenTestsEnd?: boolean;
}

/** Starts etcd and waits until `/health` says so. */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<TestEtcd> {
  const dataDir = mkdtempSync(join(tmpdir(), 'repo-deploy-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  let child: ChildProcess | null = null;
  let output = '';

  const start = async () => {
    output = '';
    child = spawn(
      'etcd',
      [
        '--name=test',
        `--data-dir=${join(dataDir, 'data')}`,
        `--listen-client-urls=${endpoint}`,
        `--advertise-client-urls=${endpoint}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=test=${peer}`,
        '--log-level=error',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    await waitHealthy(endpoint, child, () => output);
  };

  const stop = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  const dispose = async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  if (options.stopWhenTestsEnd !== false) after(dispose);
  await start();
  return { endpoint, stop, start, dispose };
}

/** Polls `/health` until etcd reports healthy; fails with etcd's output if it exits or stalls. */
async function waitHealthy(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode} before becoming healthy:\n${output()}`);
    try {
      const response = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1_000) });
      const body = (await response.json()) as { health?: string };
      if (body.health === 'true') return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`etcd not healthy at ${endpoint} after 20 s:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
