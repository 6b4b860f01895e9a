// S3 idle-check benchmark (issue 8): what one `-f` of an unchanged S3 object costs, as the
// server saw it. s3rver (the npm S3 server the tests use) runs in this process behind a handler
// that counts requests and response-body bytes; the built CLI deploys once, then checks again.
// (The HTTP and git idle checks run in http.ts and git.ts, next to their deploys.)
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ensureZip } from './data.js';
import { cleanEnv, emptyHookDirs, expectVersion, progress, runCli, scratch } from './lib.js';

/** What `benchIdleS3` measured. */
export interface IdleS3Result {
  idle_check_requests_s3: number;
  idle_check_body_bytes_s3: number;
  idle_check_ms_s3: number;
}

interface S3rverInstance {
  configureBuckets(): Promise<void>;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}

/** Deploys a small zip from s3rver, then counts what an idle `-f` asks of it. */
export async function benchIdleS3(): Promise<IdleS3Result> {
  // The bench itself talks to s3rver through the SDK too: keep its node-version notice quiet.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const archive = await ensureZip('s3-200.zip', { files: 200, version: 's3-v1' });
  const work = scratch('idle-s3');
  const require = createRequire(import.meta.url);
  const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverInstance;
  const s3rver = new S3rver({ silent: true, directory: join(work, 's3'), configureBuckets: [{ name: 'bench' }] });
  await s3rver.configureBuckets();
  const handler = s3rver.callback();
  const seen = { requests: 0, bodyBytes: 0, statuses: [] as number[] };
  const server = createServer((req, res) => {
    seen.requests += 1;
    countBody(res, (n) => (seen.bodyBytes += n));
    res.on('finish', () => seen.statuses.push(res.statusCode));
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const admin = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    await admin.send(new PutObjectCommand({ Bucket: 'bench', Key: 'app.zip', Body: readFileSync(archive) }));
    admin.destroy();
    const hooks = emptyHookDirs(work);
    const config = join(work, 'repo-deploy.cfg');
    const current = join(work, 'deploy', 'current');
    const lines = [
      'remote = s3://bench/app.zip',
      `s3-endpoint = ${endpoint}`,
      'aws-region = us-east-1',
      'aws-access-key = S3RVER',
      'aws-secret-key = S3RVER',
      `local = ${current}`,
      `cache = ${join(work, 'cache')}`,
      `pre-hooks = ${hooks.pre}`,
      `post-hooks = ${hooks.post}`,
    ];
    writeFileSync(config, `${lines.join('\n')}\n`);
    const env = cleanEnv({ AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    await runCli(['-c', config, '-f'], { env });
    expectVersion(current, 's3-v1');
    Object.assign(seen, { requests: 0, bodyBytes: 0, statuses: [] });
    const idle = await runCli(['-c', config, '-f'], { env });
    if (!/up to date/.test(idle.stdout)) progress(`warning: the idle s3 check did not say "up to date": ${idle.stdout.trim()}`);
    progress(`s3 idle check: ${seen.requests} request(s) [${seen.statuses.join(', ')}], ${seen.bodyBytes} body bytes, ${(idle.seconds * 1000).toFixed(0)} ms`);
    return { idle_check_requests_s3: seen.requests, idle_check_body_bytes_s3: seen.bodyBytes, idle_check_ms_s3: Math.round(idle.seconds * 1000) };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Counts the bytes of a response's body as they are written (headers excluded). */
function countBody(res: ServerResponse, add: (n: number) => void): void {
  const size = (chunk: unknown) => (typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk instanceof Uint8Array ? chunk.length : 0);
  const write = res.write.bind(res) as (...a: unknown[]) => boolean;
  const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    add(size(chunk));
    return write(chunk, ...rest);
  }) as ServerResponse['write'];
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== 'function') add(size(chunk));
    return end(chunk, ...rest);
  }) as ServerResponse['end'];
}
