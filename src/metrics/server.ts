import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import type { HealthReport } from './health.js';
import type { AgentMetrics } from './registry.js';

import { formatListen as format, parseListen } from '../config/listen.js';

// One parser for the config check and the listener.
export { parseListen, type ListenAddress } from '../config/listen.js';

/** Options for `startMetricsServer`. */
export interface MetricsServerOptions {
  /** `HOST:PORT`, `[IPV6]:PORT` or a bare `PORT` (bound to 127.0.0.1); port 0 picks a free one. */
  listen: string;
  metrics: AgentMetrics;
  /** The agent's health now; called on every `GET /healthz`. */
  health: () => HealthReport;
  logger: Logger;
  /** The HTML status page of `GET /`; without it `/` is not found. */
  statusPage?: () => Promise<string>;
}

/** A running listener. */
export interface MetricsServer {
  /** `HOST:PORT` actually bound (the real port when 0 was asked for). */
  address: string;
  port: number;
  /** Stops listening and drops open connections (a scraper's keep-alive must not hold up shutdown). */
  close(): Promise<void>;
}

/**
 * Serves `GET /healthz` (200 `{"status":"ok"}`, or 503 with the report and its reason),
 * `GET /metrics` (Prometheus text format) and, when given, `GET /` (the status page) until
 * closed. Rejects, naming the address, when it
 * cannot listen.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { logger } = options;
  const at = parseListen(options.listen);
  if (!at) throw new Error(`invalid listen address ${JSON.stringify(options.listen)}: expected PORT, HOST:PORT or [IPV6]:PORT`);
  const log = logger.child({ component: 'metrics-server' });

  const server = createServer((req, res) => {
    handle(req, res, options).catch((error: unknown) => {
      log.error({ path: req.url, err: messageOf(error) }, 'request failed');
      if (!res.headersSent) send(res, 500, 'application/json', JSON.stringify({ status: 'error', reason: messageOf(error) }));
      else res.destroy();
    });
  });
  // Scrapers keep connections open; they must not keep a stopping agent alive.
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'address already in use' : error.code === 'EADDRNOTAVAIL' ? 'no such local address' : error.message;
      reject(new Error(`cannot listen on ${format(at)} for /healthz and /metrics: ${why}`, { cause: error }));
    });
    server.listen(at.port, at.host, () => resolve());
  });
  // Past start-up, a listener error must be logged, not crash the agent it reports on.
  server.on('error', (error) => log.error({ err: messageOf(error) }, 'metrics listener error'));
  const bound = server.address() as AddressInfo;
  const address = format({ host: bound.address, port: bound.port });
  log.info({ address }, 'serving /healthz and /metrics');

  return {
    address,
    port: bound.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, options: MetricsServerOptions): Promise<void> {
  const { metrics, health, statusPage } = options;
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path !== '/healthz' && path !== '/metrics' && !(path === '/' && statusPage)) {
    send(res, 404, 'text/plain; charset=utf-8', `not found: try ${statusPage ? '/, ' : ''}/healthz or /metrics\n`);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  if (path === '/' && statusPage) {
    // The page holds no script and loads nothing: the policy makes any markup that slipped
    // through escaping inert.
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'");
    res.setHeader('X-Content-Type-Options', 'nosniff');
    send(res, 200, 'text/html; charset=utf-8', await statusPage(), req.method === 'HEAD');
    return;
  }
  if (path === '/metrics') {
    send(res, 200, metrics.contentType, await metrics.text(), req.method === 'HEAD');
    return;
  }
  const report = health();
  // The healthy answer is the conventional minimal body; the details matter when unhealthy.
  const body = report.status === 'ok' ? { status: 'ok' } : report;
  send(res, report.status === 'ok' ? 200 : 503, 'application/json', `${JSON.stringify(body)}\n`, req.method === 'HEAD');
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headOnly = false): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    // Health and counters are only true now: no proxy or client may reuse an answer.
    'Cache-Control': 'no-store',
  });
  res.end(headOnly ? undefined : body);
}
