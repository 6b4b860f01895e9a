/**
 * A real S3 server for tests: s3rver (from npm) on 127.0.0.1, port 0, with its own data
 * directory. Requests from the code under test go through a "public" port that records each
 * request (method, key, access key id, region of the signature, status, body bytes sent) and
 * can be made to misbehave; set-up uploads go through a second, uncounted port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { S3Client, PutObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { testdir } from './tmp.js';

const require = createRequire(import.meta.url);

/** The little of s3rver's (untyped) API the tests use. */
interface S3rverInstance {
  configureBuckets(): Promise<void>;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;
interface AccountModule {
  DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secret: string): void };
}

/** Access key s3rver knows out of the box. */
export const s3rverKeys = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/**
 * Makes s3rver accept another access key id (it refuses unknown ids with InvalidAccessKeyId;
 * it does not check V4 signatures, so the secret is not verified). Process-wide.
 */
export function allowAccessKey(accessKeyId: string, secret = 'unused-secret'): void {
  (require('s3rver/lib/models/account.js') as AccountModule).DUMMY_ACCOUNT.createKeyPair(accessKeyId, secret);
}

/** One request seen on the public port. */
export interface SeenRequest {
  method: string;
  /** Path, e.g. `/bucket/app.zip`. */
  path: string;
  /** Query string without `?` (e.g. `versionId=…`), empty when none. */
  query: string;
  /** Request headers, lower-case names. */
  headers: IncomingMessage['headers'];
  /** Access key id from the Authorization header, if signed. */
  accessKeyId?: string;
  /** Region from the signature's credential scope. */
  region?: string;
  status?: number;
  bodyBytes: number;
}

/** Handles a request instead of s3rver when it returns true. */
export type Interceptor = (req: IncomingMessage, res: ServerResponse) => boolean;

/** A running s3rver. */
export interface S3rverHandle {
  /** `http://127.0.0.1:PORT`: the public, counted endpoint. */
  endpoint: string;
  /** Requests seen on the public endpoint since the last `reset`. */
  seen: SeenRequest[];
  reset(): void;
  /** Uploads `body` to `bucket/key` (through the uncounted port, Buffer body). */
  put(bucket: string, key: string, body: Buffer | string): Promise<void>;
  remove(bucket: string, key: string): Promise<void>;
  /** Cuts the body of the next GET that returns one after `bytes` bytes. */
  truncateNextAfter(bytes: number): void;
  /** Requests for which this returns true are answered by it, not s3rver. */
  intercept?: Interceptor;
  close(): Promise<void>;
}

/** Starts s3rver with `buckets` created. */
export async function startS3rver(buckets: string[]): Promise<S3rverHandle> {
  const S3rver = require('s3rver') as S3rverClass;
  const s3rver = new S3rver({ silent: true, directory: testdir(), configureBuckets: buckets.map((name) => ({ name })) });
  await s3rver.configureBuckets();
  const app = s3rver.callback();
  let truncateAfter: number | undefined;

  const handle: S3rverHandle = {
    endpoint: '',
    seen: [],
    reset: () => void (handle.seen = []),
    put: async (bucket, key, body) => {
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: typeof body === 'string' ? Buffer.from(body) : body }));
    },
    remove: async (bucket, key) => {
      await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    truncateNextAfter: (bytes) => void (truncateAfter = bytes),
    close: async () => {
      admin.destroy();
      await Promise.all([stop(pub), stop(adminServer)]);
    },
  };

  const pub = createServer((req, res) => {
    const credential = /Credential=([^/,\s]+)\/[^/]+\/([^/]+)\//.exec(req.headers.authorization ?? '');
    const [path = '', query = ''] = (req.url ?? '').split('?', 2);
    const seen: SeenRequest = { method: req.method ?? '', path, query, headers: req.headers, bodyBytes: 0 };
    if (credential) Object.assign(seen, { accessKeyId: credential[1], region: credential[2] });
    handle.seen.push(seen);
    res.on('finish', () => void (seen.status = res.statusCode));
    res.on('close', () => void (seen.status ??= res.statusCode));
    countBody(res, seen, () => {
      if (truncateAfter === undefined || res.statusCode !== 200 || req.method !== 'GET') return undefined;
      const limit = truncateAfter;
      truncateAfter = undefined;
      return limit;
    });
    if (handle.intercept?.(req, res)) return;
    app(req, res);
  });
  const adminServer = createServer(app);
  const [port, adminPort] = await Promise.all([listen(pub), listen(adminServer)]);
  handle.endpoint = `http://127.0.0.1:${port}`;
  const admin = new S3Client({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${adminPort}`,
    forcePathStyle: true,
    credentials: s3rverKeys,
    // s3rver stores bodies sent with the SDK's default streaming checksums corrupted.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  return handle;
}

/** A port on 127.0.0.1 with nothing listening (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await stop(server);
  return port;
}

/**
 * Counts body bytes written to `res`; when `truncate()` gives a limit once the status is
 * known, sends that many bytes and then drops the connection.
 */
function countBody(res: ServerResponse, seen: SeenRequest, truncate: () => number | undefined): void {
  const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  let limit: number | null = null;
  const pass = (chunk: unknown): Buffer | undefined => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return undefined;
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    if (limit === null) limit = truncate() ?? Infinity;
    const room = Math.max(0, limit - seen.bodyBytes);
    return data.subarray(0, room);
  };
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    const data = pass(chunk);
    if (data === undefined) return write(chunk, ...rest);
    seen.bodyBytes += data.length;
    if (seen.bodyBytes >= (limit ?? Infinity)) {
      write(data);
      // Let the partial body reach the client, then cut the connection mid-transfer.
      setTimeout(() => res.socket?.destroy(), 20);
      return false;
    }
    return write(data, ...rest);
  }) as ServerResponse['write'];
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    const data = pass(chunk);
    if (data === undefined) return end(chunk, ...rest);
    seen.bodyBytes += data.length;
    if (limit !== null && limit !== Infinity) {
      write(data);
      setTimeout(() => res.socket?.destroy(), 20);
      return res;
    }
    return end(data, ...rest);
  }) as ServerResponse['end'];
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
