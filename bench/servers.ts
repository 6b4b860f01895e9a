// The servers the benchmark deploys from, all on 127.0.0.1 and started by the bench itself: a
// plain static file server with ETags that counts what it sends, a real `git daemon`, and a
// TCP proxy in front of it that counts git connections by the command they carry.
import { spawn } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { join, normalize } from 'node:path';

/** Requests and response-body bytes a server has seen since its last reset. */
export interface Counters {
  requests: number;
  bodyBytes: number;
  /** Status codes in order, e.g. `[304]` for an idle check. */
  statuses: number[];
}

/** A running server that can be stopped. */
export interface Running {
  port: number;
  stop(): Promise<void>;
}

/** The static server: `counters` are live, `reset()` zeroes them. */
export interface StaticServer extends Running {
  url(path: string): string;
  counters: Counters;
  reset(): void;
}

/**
 * Serves files under `root` like nginx would for a zip: GET and HEAD, an ETag from size and
 * mtime, If-None-Match answered with 304 and no body, single byte ranges with If-Range. Counts requests and body bytes, which is
 * what the idle check is judged on.
 */
export async function startStaticServer(root: string): Promise<StaticServer> {
  const counters: Counters = { requests: 0, bodyBytes: 0, statuses: [] };
  const server = createServer((req, res) => {
    counters.requests += 1;
    const answer = (status: number) => {
      counters.statuses.push(status);
      res.statusCode = status;
    };
    const path = join(root, normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    let stat;
    try {
      stat = statSync(path);
    } catch {
      answer(404);
      res.end();
      return;
    }
    if (!stat.isFile() || (req.method !== 'GET' && req.method !== 'HEAD')) {
      answer(stat.isFile() ? 405 : 404);
      res.end();
      return;
    }
    const etag = `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    res.setHeader('etag', etag);
    res.setHeader('last-modified', stat.mtime.toUTCString());
    res.setHeader('content-type', 'application/zip');
    const match = req.headers['if-none-match'];
    if (match && match.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}`)) {
      answer(304);
      res.end();
      return;
    }
    // One range per request, with If-Range, as nginx serves them (delta downloads use them).
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    res.setHeader('accept-ranges', 'bytes');
    if (range && req.method === 'GET' && (ifRange === undefined || ifRange === etag || ifRange === stat.mtime.toUTCString()) && Number(range[1]) < stat.size) {
      const [start, end] = [Number(range[1]), Math.min(Number(range[2]), stat.size - 1)];
      answer(206);
      res.setHeader('content-range', `bytes ${start}-${end}/${stat.size}`);
      res.setHeader('content-length', end - start + 1);
      const part = createReadStream(path, { start, end, highWaterMark: 1 << 20 });
      part.on('data', (chunk) => (counters.bodyBytes += chunk.length));
      part.pipe(res);
      return;
    }
    answer(200);
    res.setHeader('content-length', stat.size);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(path, { highWaterMark: 1 << 20 });
    stream.on('data', (chunk) => (counters.bodyBytes += chunk.length));
    stream.pipe(res);
  });
  const port = await listen(server);
  return {
    port,
    url: (p) => `http://127.0.0.1:${port}/${p.replace(/^\/+/, '')}`,
    counters,
    reset() {
      counters.requests = 0;
      counters.bodyBytes = 0;
      counters.statuses = [];
    },
    stop: () => close(server),
  };
}

/** Connections a git proxy has forwarded, by what the client asked for. */
export interface GitCounters {
  connections: number;
  /** Connections that listed refs only (an `ls-remote`). */
  lsRefs: number;
  /** Connections that asked for objects (a fetch). */
  fetches: number;
}

/** A counting git proxy. */
export interface GitProxy extends Running {
  counters: GitCounters;
  reset(): void;
}

/**
 * A TCP proxy to a git daemon. With protocol v2 every `ls-remote` and every fetch is its own
 * connection, and the client's first request says which (`command=ls-refs` / `command=fetch`);
 * protocol v0 clients send `want` lines to fetch.
 */
export async function startGitProxy(targetPort: number): Promise<GitProxy> {
  const counters: GitCounters = { connections: 0, lsRefs: 0, fetches: 0 };
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    counters.connections += 1;
    let kind: 'ls-refs' | 'fetch' | undefined;
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      if (kind === 'fetch') return;
      const text = chunk.toString('latin1');
      if (text.includes('command=fetch') || /[0-9a-f]{4}want [0-9a-f]{40}/.test(text)) {
        if (kind === 'ls-refs') counters.lsRefs -= 1;
        kind = 'fetch';
        counters.fetches += 1;
      } else if (!kind && text.includes('command=ls-refs')) {
        kind = 'ls-refs';
        counters.lsRefs += 1;
      }
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const port = await listen(server);
  return {
    port,
    counters,
    reset() {
      counters.connections = 0;
      counters.lsRefs = 0;
      counters.fetches = 0;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await close(server);
    },
  };
}

/** Starts `git daemon` exporting every repository under `baseDir`. */
export async function startGitDaemon(baseDir: string): Promise<Running> {
  // git daemon cannot listen on port 0: take a free port and hand it over.
  const probe = createTcpServer();
  const port = await listen(probe);
  await close(probe);
  const child = spawn(
    'git',
    ['daemon', '--export-all', `--base-path=${baseDir}`, '--reuseaddr', '--listen=127.0.0.1', `--port=${port}`, baseDir],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null) throw new Error(`git daemon exited ${child.exitCode}: ${stderr.trim()}`);
    if (Date.now() > deadline) throw new Error(`git daemon not listening on 127.0.0.1:${port} after 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function close(server: Server | ReturnType<typeof createTcpServer>): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
