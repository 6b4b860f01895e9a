import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after } from 'node:test';

/**
 * A real `node:http` server on 127.0.0.1 that receives notifications as Slack or any webhook
 * receiver would: records each POST (headers and raw body), and can answer with an error a
 * number of times first, or stall (accept the request, never answer).
 */

/** One POST as received. */
export interface ReceivedPost {
  path: string;
  headers: IncomingMessage['headers'];
  /** The exact body bytes, as text (signatures are over these). */
  raw: string;
  body: Record<string, unknown>;
}

/** A running receiver. */
export interface WebhookReceiver {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  posts: ReceivedPost[];
  /** Requests seen, answered or not (a stalled one counts). */
  requests(): number;
  /** Resolves when `test` holds for the posts, or throws after `timeoutMs`. */
  waitFor(what: string, test: (posts: ReceivedPost[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Options of `startReceiver`. */
export interface ReceiverOptions {
  /** Answer 503 to this many requests before accepting (retries are tested with it). */
  failFirst?: number;
  /** Never answer: the agent must not wait for this receiver. */
  stall?: boolean;
}

/** Starts a receiver; closed when the test file ends. */
export async function startReceiver(options: ReceiverOptions = {}): Promise<WebhookReceiver> {
  const posts: ReceivedPost[] = [];
  const sockets = new Set<Socket>();
  let requests = 0;
  let toFail = options.failFirst ?? 0;
  const server: Server = createServer((req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (options.stall) return;
      if (toFail > 0) {
        toFail--;
        res.writeHead(503).end('try later');
        return;
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      posts.push({ path: req.url ?? '', headers: req.headers, raw, body: JSON.parse(raw) as Record<string, unknown> });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  after(close);
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posts,
    requests: () => requests,
    async waitFor(what, test, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!test(posts)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; received: ${JSON.stringify(posts.map((p) => p.body))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close,
  };
}
