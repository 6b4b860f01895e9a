/**
 * What the S3 remote costs a process that uses it, and what it saves one that does not: start-up
 * time and RSS of a fresh `node` that loads the built `dist/remotes/index.js`, then creates and
 * checks one remote. Cases: `import-only` (no remote), `http` (an HTTP zip on a local server),
 * `s3` (the same zip in s3rver). The AWS SDK is imported lazily, so `import-only` and `http`
 * should not pay for it. Prints JSON (medians and minimums over the runs).
 *
 *   npx tsc -p tsconfig.json && node --import tsx bench/s3-startup.ts [runs]
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import { zipOfFiles } from '../test/remotes/conformance.js';

const runs = Number(process.argv[2] ?? 9);
const indexJs = fileURLToPath(new URL('../dist/remotes/index.js', import.meta.url));
if (!existsSync(indexJs)) {
  process.stderr.write('dist/remotes/index.js is missing: run `npx tsc -p tsconfig.json` first\n');
  process.exit(2);
}

// The measured process: everything it does is timed from its own start (performance.now()).
const child = `
const [indexUrl, kind, url, endpoint, cacheDir] = process.argv.slice(2);
const loadStart = performance.now();
const { createRemote } = await import(indexUrl);
const loaded = performance.now();
let version = '';
if (kind !== 'import-only') {
  const quiet = () => {};
  const logger = { debug: quiet, info: quiet, warn: quiet, error: quiet, child: () => logger };
  const remote = createRemote(url, {
    connectTimeoutMs: 5000, readTimeoutMs: 5000, gitSubmodules: true, verify: { verifySha256: false },
    limits: { maxArchiveBytes: 1e9, maxUnpackedBytes: 1e9, maxEntries: 10000 },
    s3Endpoint: endpoint, awsAccessKey: 'S3RVER', awsSecretKey: 'S3RVER',
  });
  version = (await remote.check({ cacheDir, logger })).version;
}
const done = performance.now();
process.stdout.write(JSON.stringify({ importMs: loaded - loadStart, totalMs: done, rssBytes: process.memoryUsage().rss, version }));
`;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'repo-deploy-bench-'));
  const servers: Server[] = [];
  try {
    const zip = await zipOfFiles({ 'index.html': 'hello\n', 'bin/start.sh': { content: '#!/bin/sh\n', mode: 0o755 } });
    const http = createServer((_req, res) => res.writeHead(200, { etag: '"v1"', 'content-length': zip.length }).end(zip));
    servers.push(http);
    const httpPort = await listen(http);
    const require = createRequire(import.meta.url);
    const S3rver = require('s3rver') as new (o: object) => { configureBuckets(): Promise<void>; callback(): Parameters<typeof createServer>[1] };
    const s3rver = new S3rver({ silent: true, directory: join(work, 's3'), configureBuckets: [{ name: 'bench' }] });
    await s3rver.configureBuckets();
    const s3 = createServer(s3rver.callback());
    servers.push(s3);
    const endpoint = `http://127.0.0.1:${await listen(s3)}`;
    const admin = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, requestChecksumCalculation: 'WHEN_REQUIRED' });
    await admin.send(new PutObjectCommand({ Bucket: 'bench', Key: 'app.zip', Body: zip }));
    admin.destroy();
    const script = join(work, 'child.mjs');
    writeFileSync(script, child);

    const cases = { 'import-only': '', http: `http://127.0.0.1:${httpPort}/app.zip`, s3: 's3://bench/app.zip' };
    const samples: Record<string, Array<{ wallMs: number; importMs: number; totalMs: number; rssBytes: number }>> = {};
    for (let i = 0; i < runs; i++) {
      for (const [kind, url] of Object.entries(cases)) {
        const cacheDir = mkdtempSync(join(work, 'cache-'));
        const started = performance.now();
        // Asynchronous on purpose: the servers answering the child live in this process.
        const run = await promisify(execFile)(process.execPath, [script, pathToFileURL(indexJs).href, kind, url, endpoint, cacheDir], {
          encoding: 'utf8',
          env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        });
        const wallMs = performance.now() - started;
        const out = JSON.parse(run.stdout) as { importMs: number; totalMs: number; rssBytes: number; version: string };
        if (kind !== 'import-only' && !out.version) throw new Error(`${kind} check gave no version`);
        (samples[kind] ??= []).push({ wallMs, importMs: out.importMs, totalMs: out.totalMs, rssBytes: out.rssBytes });
      }
    }
    const summary = Object.fromEntries(
      Object.entries(samples).map(([kind, list]) => [
        kind,
        {
          wallMsMedian: round(median(list.map((s) => s.wallMs))),
          wallMsMin: round(Math.min(...list.map((s) => s.wallMs))),
          inProcessMsMedian: round(median(list.map((s) => s.totalMs))),
          registryImportMsMedian: round(median(list.map((s) => s.importMs))),
          rssMiBMedian: round(median(list.map((s) => s.rssBytes)) / 1024 / 1024),
        },
      ]),
    );
    process.stdout.write(`${JSON.stringify({ node: process.version, runs, cases: summary }, null, 2)}\n`);
  } finally {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    rmSync(work, { recursive: true, force: true });
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (n: number) => Math.round(n * 10) / 10;

await main();
