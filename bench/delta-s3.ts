// The S3 side of the delta benchmark (see delta.ts): s3rver in this process behind a handler
// that counts requests and body bytes; the built CLI deploys the base object, the new version
// is uploaded, and the update is counted.
import { createReadStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { changedFile } from './delta.js';
import { cleanEnv, emptyHookDirs, progress, runCli, scratch } from './lib.js';

interface S3rverInstance {
  configureBuckets(): Promise<void>;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}

/** Deploys `base` from s3rver, uploads `next`, and counts what the delta update asked for. */
export async function benchDeltaS3(archives: { base: string; next: string; marker: string }): Promise<{ delta_s3_bytes: number; delta_s3_requests: number }> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const work = scratch('delta-s3');
  const require = createRequire(import.meta.url);
  const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverInstance;
  const s3rver = new S3rver({ silent: true, directory: join(work, 's3'), configureBuckets: [{ name: 'bench' }] });
  await s3rver.configureBuckets();
  const handler = s3rver.callback();
  const seen = { requests: 0, bodyBytes: 0 };
  const server = createServer((req, res) => {
    seen.requests += 1;
    const write = res.write.bind(res) as (...a: unknown[]) => boolean;
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (chunk instanceof Uint8Array) seen.bodyBytes += chunk.length;
      return write(chunk, ...rest);
    }) as ServerResponse['write'];
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const admin = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, requestChecksumCalculation: 'WHEN_REQUIRED' });
  const upload = (file: string) => admin.send(new PutObjectCommand({ Bucket: 'bench', Key: 'app.zip', Body: createReadStream(file), ContentLength: statSync(file).size }));
  try {
    await upload(archives.base);
    const hooks = emptyHookDirs(work);
    const config = join(work, 'repo-deploy.cfg');
    const current = join(work, 'deploy', 'current');
    const lines = ['remote = s3://bench/app.zip', `s3-endpoint = ${endpoint}`, 'aws-region = us-east-1', 'aws-access-key = S3RVER', 'aws-secret-key = S3RVER', `local = ${current}`, `cache = ${join(work, 'cache')}`, `pre-hooks = ${hooks.pre}`, `post-hooks = ${hooks.post}`];
    writeFileSync(config, `${lines.join('\n')}\n`);
    const env = cleanEnv({ AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    await runCli(['-c', config, '-f'], { env });
    await upload(archives.next);
    Object.assign(seen, { requests: 0, bodyBytes: 0 });
    await runCli(['-c', config, '-f'], { env });
    if (readFileSync(join(current, changedFile), 'utf8') !== archives.marker) throw new Error('the s3 delta deploy did not put the new version in place');
    progress(`delta over s3: ${seen.bodyBytes} of ${statSync(archives.next).size} bytes in ${seen.requests} requests`);
    return { delta_s3_bytes: seen.bodyBytes, delta_s3_requests: seen.requests };
  } finally {
    admin.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
