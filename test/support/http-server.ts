import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A real `node:http` server on 127.0.0.1 for the HTTP remote's tests: serves objects with ETag
 * and Last-Modified (either can be omitted), answers conditional requests with 304, and can
 * redirect, hang, truncate a body, send a wrong Content-Length or require Basic auth. It counts
 * requests and body bytes so tests can assert what a check cost.
 */

/** How one path is served. */
export interface ServedObject {
  body: Buffer;
  /** Send an ETag (default true). */
  etag?: boolean;
  /** Send Last-Modified (default true). */
  lastModified?: boolean;
  /** Send Content-Length (default true; false streams chunked). */
  contentLength?: boolean;
  /** Last-Modified to announce (default: when `put` was called). */
  modified?: Date;
  /** Honour single `Range: bytes=a-b` requests (and `If-Range`) with 206 (default false: 200 whole). */
  ranges?: boolean;
  /** Cut ranges from these bytes instead of `body`: a server whose ranges lie about the body. */
  rangeBody?: Buffer;
  /** Answer this many milliseconds after the request arrived (a slow server). */
  delayMs?: number;
}

/** One request as the server saw it. */
export interface SeenRequest {
  path: string;
  headers: IncomingMessage['headers'];
  status: number;
  /** When the status line was sent (Date.now()); 0 until then. */
  answeredAt: number;
}

/** A running test server. */
export interface TestHttpServer {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** Serves `body` at `path`; its Last-Modified is now (to the second), as a real server's would be. */
  put(path: string, object: ServedObject): void;
  remove(path: string): void;
  /** Answers `path` with `status` and `Location: to`. */
  redirect(path: string, to: string, status?: number): void;
  /** `head`: never answers `path`; `body`: sends the head and half the body, then goes silent. */
  hang(path: string, mode: 'head' | 'body'): void;
  /** The next 200 sends the full Content-Length, half the body, then cuts the connection. */
  truncateNext(): void;
  /** Every 200 on `path` announces `extra` more bytes than it sends, then closes. */
  wrongLength(path: string, extra: number): void;
  /** Serves `object` at `path` once `requests` more requests for `path` have been answered. */
  replaceAfter(path: string, requests: number, object: ServedObject): void;
  /** Requires Basic auth with these credentials on every path. */
  requireAuth(user: string, password: string): void;
  requests(): { count: number; bodyBytes: number };
  /** Every request since the last reset. */
  log(): SeenRequest[];
  resetCounters(): void;
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1, port 0. */
export async function startHttpServer(): Promise<TestHttpServer> {
  const objects = new Map<string, ServedObject & { modified: Date; tag: string }>();
  const redirects = new Map<string, { to: string; status: number }>();
  const hangs = new Map<string, 'head' | 'body'>();
  const wrong = new Map<string, number>();
  const replacements = new Map<string, { left: number; object: ServedObject }>();
  const sockets = new Set<Socket>();
  let auth: string | undefined;
  let truncate = false;
  let log: SeenRequest[] = [];
  let bodyBytes = 0;

  const sendBody = (res: ServerResponse, data: Buffer): void => {
    bodyBytes += data.length;
    res.write(data);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const seen: SeenRequest = { path, headers: req.headers, status: 0, answeredAt: 0 };
    log.push(seen);
    const delay = objects.get(path)?.delayMs;
    if (delay) setTimeout(() => respond(req, res, path, seen), delay);
    else respond(req, res, path, seen);
  };

  const respond = (req: IncomingMessage, res: ServerResponse, path: string, seen: SeenRequest): void => {
    const replacement = replacements.get(path);
    if (replacement && replacement.left-- <= 0) {
      replacements.delete(path);
      put(path, replacement.object);
    }
    const answer = (status: number, headers: Record<string, string | number> = {}): void => {
      seen.status = status;
      seen.answeredAt = Date.now();
      res.writeHead(status, headers);
    };
    if (auth && req.headers.authorization !== auth) {
      answer(401, { 'www-authenticate': 'Basic realm="test"', 'content-length': 0 });
      return void res.end();
    }
    const redirect = redirects.get(path);
    if (redirect) {
      answer(redirect.status, { location: redirect.to, 'content-length': 0 });
      return void res.end();
    }
    const object = objects.get(path);
    if (!object) {
      answer(404, { 'content-length': 9 });
      return void res.end('not found');
    }
    const headers: Record<string, string | number> = { 'content-type': 'application/zip' };
    if (object.etag !== false) headers.etag = object.tag;
    if (object.lastModified !== false) headers['last-modified'] = object.modified.toUTCString();
    const hang = hangs.get(path);
    if (hang === 'head') return; // never answered: the client's timeout must end it
    const inm = req.headers['if-none-match'];
    const ims = req.headers['if-modified-since'];
    const notModified =
      inm !== undefined ? object.etag !== false && inm === object.tag
      : ims !== undefined && object.lastModified !== false && Date.parse(ims) >= Math.floor(object.modified.getTime() / 1000) * 1000;
    if (notModified) {
      answer(304, headers);
      return void res.end();
    }
    if (object.ranges && sendRange(req, res, object, headers, answer)) return;
    const extra = wrong.get(path);
    if (object.contentLength !== false || extra !== undefined) headers['content-length'] = object.body.length + (extra ?? 0);
    answer(200, headers);
    if (hang === 'body' || truncate) {
      const cut = truncate;
      truncate = false;
      sendBody(res, object.body.subarray(0, Math.floor(object.body.length / 2)));
      // Truncation cuts the connection; a hang keeps it open and silent.
      if (cut) setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    sendBody(res, object.body);
    if (extra !== undefined) setTimeout(() => res.socket?.destroy(), 20);
    else res.end();
  };

  const put = (path: string, object: ServedObject): void => {
    const tag = `"${createHash('sha256').update(object.body).digest('hex').slice(0, 16)}"`;
    objects.set(path, { ...object, modified: object.modified ?? new Date(), tag });
  };

  /** Answers a `Range` request with 206 (or 416); false when the whole body must be sent. */
  const sendRange = (req: IncomingMessage, res: ServerResponse, object: ServedObject & { modified: Date; tag: string }, headers: Record<string, string | number>, answer: (status: number, headers: Record<string, string | number>) => void): boolean => {
    headers['accept-ranges'] = 'bytes';
    const match = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const current = ifRange === undefined || (object.etag !== false && ifRange === object.tag) || (object.lastModified !== false && ifRange === object.modified.toUTCString());
    if (!match || !current || (match[1] === '' && match[2] === '')) return false;
    const size = object.body.length;
    const start = match[1] === '' ? Math.max(0, size - Number(match[2])) : Number(match[1]);
    const end = match[1] === '' || match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (start >= size || end < start) {
      answer(416, { ...headers, 'content-range': `bytes */${size}`, 'content-length': 0 });
      res.end();
      return true;
    }
    answer(206, { ...headers, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1 });
    sendBody(res, (object.rangeBody ?? object.body).subarray(start, end + 1));
    res.end();
    return true;
  };

  const server: Server = createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    put,
    remove: (path) => void objects.delete(path),
    redirect: (path, to, status = 302) => void redirects.set(path, { to, status }),
    hang: (path, mode) => void hangs.set(path, mode),
    truncateNext: () => void (truncate = true),
    wrongLength: (path, extra) => void wrong.set(path, extra),
    replaceAfter: (path, requests, object) => void replacements.set(path, { left: requests, object }),
    requireAuth: (user, password) => void (auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`),
    requests: () => ({ count: log.length, bodyBytes }),
    log: () => log,
    resetCounters() {
      log = [];
      bodyBytes = 0;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Runs `body` with a fresh server, closed afterwards whatever happens. */
export async function withHttpServer(body: (server: TestHttpServer) => Promise<void>): Promise<void> {
  const server = await startHttpServer();
  try {
    await body(server);
  } finally {
    await server.close();
  }
}
