import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { RemoteError } from '../../errors.js';
import { redactUrl } from '../../util/redact.js';

/**
 * One GET over `node:http`/`node:https`, following redirects, with a connect timeout and an
 * idle (read) timeout. We use the core modules rather than undici's fetch because they give
 * separate control of the connect phase and of socket idleness, and expose the raw body stream
 * so a cut connection surfaces as a stream error instead of a silently short body.
 */

/** Options for `httpGet`. */
export interface HttpGetOptions {
  /** Extra request headers (conditional validators). */
  headers?: Record<string, string>;
  /** Milliseconds to wait for the TCP (and TLS) connection. */
  connectTimeoutMs: number;
  /** Milliseconds of silence tolerated while waiting for or reading the response. */
  readTimeoutMs: number;
  /** Redirects followed before giving up. */
  maxRedirects?: number;
  signal?: AbortSignal;
}

/** A response whose body has not been read yet: the caller must consume or destroy `body`. */
export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  /** Where the response came from after redirects, credentials removed. */
  finalUrl: string;
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);

/**
 * GETs `url`. Credentials in the URL (`https://user:pass@host/…`) are sent as Basic auth, and
 * only to that URL's origin: a redirect to another host does not receive them. Errors are
 * `RemoteError`s naming `display` (the credential-free URL the operator configured).
 */
export async function httpGet(url: string, display: string, options: HttpGetOptions): Promise<HttpResponse> {
  const maxRedirects = options.maxRedirects ?? 5;
  const start = new URL(url);
  const auth = start.username || start.password
    ? `Basic ${Buffer.from(`${decodeURIComponent(start.username)}:${decodeURIComponent(start.password)}`).toString('base64')}`
    : undefined;
  const origin = start.origin;
  let current = stripCredentials(start);
  const visited = new Set<string>();
  for (let hop = 0; ; hop++) {
    visited.add(current.href);
    const headers: Record<string, string> = { 'user-agent': 'repo-deploy', ...options.headers };
    if (auth && current.origin === origin) headers.authorization = auth;
    const response = await getOnce(current, headers, display, options);
    if (!redirectStatuses.has(response.statusCode ?? 0)) {
      return { status: response.statusCode ?? 0, headers: response.headers, body: response, finalUrl: redactUrl(current.href) };
    }
    response.resume();
    const location = response.headers.location;
    if (!location) throw new RemoteError(display, `HTTP ${response.statusCode} redirect without a Location header at ${redactUrl(current.href)}`);
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      throw new RemoteError(display, `HTTP ${response.statusCode} redirect to an invalid location from ${redactUrl(current.href)}`);
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new RemoteError(display, `redirect to unsupported scheme ${next.protocol} at ${redactUrl(next.href)}`);
    }
    // Credentials a server puts in a Location are not ours to use; they never reach messages.
    next = stripCredentials(next);
    if (visited.has(next.href)) throw new RemoteError(display, `redirect loop: ${redactUrl(next.href)} was already visited`);
    if (hop + 1 > maxRedirects) throw new RemoteError(display, `too many redirects (more than ${maxRedirects}), last to ${redactUrl(next.href)}`);
    current = next;
  }
}

/** Reads a whole (small) body into memory, refusing more than `maxBytes`. */
export async function readSmallBody(body: IncomingMessage, display: string, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        body.destroy();
        throw new RemoteError(display, `response is larger than ${maxBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof RemoteError) throw error;
    throw new RemoteError(display, `reading the response failed: ${(error as Error).message}`, { cause: error });
  }
  return Buffer.concat(chunks);
}

function stripCredentials(url: URL): URL {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy;
}

/** One request, no redirects; resolves when the response head arrives. */
function getOnce(url: URL, headers: Record<string, string>, display: string, options: HttpGetOptions): Promise<IncomingMessage> {
  const where = redactUrl(url.href);
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, { method: 'GET', headers, ...(options.signal ? { signal: options.signal } : {}) });
    let failure: RemoteError | undefined;
    let response: IncomingMessage | undefined;
    const fail = (message: string): void => {
      failure = new RemoteError(display, message);
      // Destroying the body first makes its reader see our message, not a bare `aborted`.
      response?.destroy(failure);
      req.destroy(failure);
    };
    // Connect timeout: armed until the socket connects (a reused keep-alive socket already has).
    const connectTimer = setTimeout(() => fail(`cannot connect to ${where} within ${options.connectTimeoutMs} ms`), options.connectTimeoutMs);
    req.on('socket', (socket) => {
      if (!socket.connecting) clearTimeout(connectTimer);
      else socket.once('connect', () => clearTimeout(connectTimer));
    });
    // Idle timeout covers waiting for the head and every pause while the body streams.
    req.setTimeout(options.readTimeoutMs, () => fail(`no data from ${where} for ${options.readTimeoutMs} ms`));
    req.on('response', (res) => {
      clearTimeout(connectTimer);
      response = res;
      resolve(res);
    });
    req.on('error', (error) => {
      clearTimeout(connectTimer);
      if (failure) return reject(failure);
      if (error.name === 'AbortError') return reject(new RemoteError(display, `request to ${where} aborted`, { cause: error }));
      const code = (error as NodeJS.ErrnoException).code;
      reject(new RemoteError(display, `cannot reach ${where}: ${code ?? error.message}`, { cause: error }));
    });
    req.end();
  });
}
