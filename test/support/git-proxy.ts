import { connect, createServer, type Socket } from 'node:net';
import { after } from 'node:test';

/**
 * A TCP proxy in front of a git daemon that counts what the agent asks for: every connection
 * (one per `ls-remote` or `fetch`), and the bytes the server sent on connections that asked for
 * objects (a protocol v2 `command=fetch`, or a v0 `want` line): the "body" of a git transfer.
 */
export interface CountingProxy {
  port: number;
  /** Connections, and server bytes sent on fetch connections, since the last reset. */
  requests(): { count: number; bodyBytes: number };
  resetCounters(): void;
  /** Cuts the next fetch connection after a few bytes of pack data. */
  truncateNextFetch(): void;
}

/** Starts the proxy forwarding to 127.0.0.1:`targetPort`; closed when the test file ends. */
export async function startCountingProxy(targetPort: number): Promise<CountingProxy> {
  let count = 0;
  let bodyBytes = 0;
  let truncate = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    count += 1;
    let fetching = false;
    let cut = false;
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
      const text = chunk.toString('latin1');
      if (text.includes('command=fetch') || /[0-9a-f]{4}want [0-9a-f]{40}/.test(text)) {
        fetching = true;
        if (truncate) {
          truncate = false;
          cut = true;
        }
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      // Bytes sent before the client asked for objects are the ref advertisement, not a body.
      if (fetching) bodyBytes += chunk.length;
      if (cut && fetching) {
        client.end(chunk.subarray(0, Math.min(64, chunk.length - 1)));
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    client.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    port: (server.address() as { port: number }).port,
    requests: () => ({ count, bodyBytes }),
    truncateNextFetch: () => {
      truncate = true;
    },
    resetCounters: () => {
      count = 0;
      bodyBytes = 0;
    },
  };
}
