import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server } from 'node:net';
import { after } from 'node:test';

/**
 * A real `git daemon` on 127.0.0.1 serving every repository under a directory, and a TCP
 * server that accepts connections and never answers (a hung remote).
 */

/** A running git daemon. */
export interface GitDaemon {
  port: number;
  /** `git://127.0.0.1:PORT/<path>` for a path relative to the base directory. */
  url(path: string): string;
  stop(): Promise<void>;
}

/** A free loopback port: git daemon cannot listen on port 0, so bind one and release it. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once something accepts TCP connections on `port`, or rejects after `ms`. */
export async function waitForPort(port: number, ms = 10_000, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on 127.0.0.1:${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `git daemon` exporting everything under `baseDir`; stopped when the test file ends. */
export async function startGitDaemon(baseDir: string): Promise<GitDaemon> {
  const port = await freePort();
  const child = spawn(
    'git',
    ['daemon', '--export-all', `--base-path=${baseDir}`, '--reuseaddr', '--listen=127.0.0.1', `--port=${port}`, '--informative-errors', baseDir],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.resume();
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  after(stop);
  await waitForPort(port, 10_000, child);
  return { port, url: (path) => `git://127.0.0.1:${port}/${path.replace(/^\/+/, '')}`, stop };
}

/** A TCP server that accepts connections and never says a word. */
export async function startSilentServer(): Promise<{ port: number; server: Server }> {
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as { port: number }).port, server };
}
