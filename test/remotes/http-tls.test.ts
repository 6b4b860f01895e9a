/**
 * HTTPS against a real TLS server with a self-signed certificate made by `openssl` here.
 * Node reads NODE_EXTRA_CA_CERTS only at start-up, so trusting the certificate is shown in a
 * child process started with it; the refusal of an untrusted certificate runs in-process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RemoteError } from '../../src/errors.js';
import { testdir } from '../support/tmp.js';
import { makeTestRemote, testContext, zipOfFiles } from './conformance.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function makeCert(dir: string): { key: Buffer; cert: Buffer; certFile: string } {
  const r = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { encoding: 'utf8' });
  assert.equal(r.status, 0, `openssl failed: ${r.error?.message ?? r.stderr}`);
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')), certFile: join(dir, 'cert.pem') };
}

async function startTls(key: Buffer, cert: Buffer, body: Buffer): Promise<{ origin: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server = createServer({ key, cert }, (req, res) => {
    hits.push(`${req.url} ${req.headers['if-none-match'] ?? '-'} ${req.headers.authorization ? 'auth' : 'anon'}`);
    if (req.headers['if-none-match'] === '"v1"') return void res.writeHead(304).end();
    res.writeHead(200, { etag: '"v1"', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    hits,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

test('https: an untrusted self-signed certificate is refused with a RemoteError', async () => {
  const { key, cert } = makeCert(testdir());
  const server = await startTls(key, cert, await zipOfFiles({ 'a.txt': 'tls\n' }));
  try {
    await assert.rejects(makeTestRemote(`${server.origin}/app.zip`).check(testContext()), (e: unknown) => {
      assert.ok(e instanceof RemoteError);
      assert.match(e.message, /SELF_SIGNED|self-signed|certificate/i);
      return true;
    });
  } finally {
    await server.close();
  }
});

test('https: with the certificate trusted, check, conditional re-check and fetch work', async () => {
  const dir = testdir();
  const { key, cert, certFile } = makeCert(dir);
  const server = await startTls(key, cert, await zipOfFiles({ 'a.txt': 'tls\n', 'run.sh': { content: '#!/bin/sh\n', mode: 0o755 } }));
  // The child builds the remote through the registry, as the agent does, and prints what it saw.
  const script = `
    const { createRemote } = await import(${JSON.stringify(join(root, 'src/remotes/index.ts'))});
    const { silentLogger } = await import(${JSON.stringify(join(root, 'src/log.ts'))});
    const { statSync, readFileSync } = await import('node:fs');
    const config = { connectTimeoutMs: 2000, readTimeoutMs: 3000, gitSubmodules: true, verify: { verifySha256: false },
      limits: { maxArchiveBytes: 1e9, maxUnpackedBytes: 1e9, maxEntries: 1000 } };
    const remote = createRemote(process.argv[1], config);
    const ctx = { cacheDir: process.argv[2], logger: silentLogger() };
    const first = await remote.check(ctx);
    const again = await remote.check(ctx);
    const result = await remote.fetch(first.version, process.argv[3], ctx);
    const text = readFileSync(process.argv[3] + '/a.txt', 'utf8');
    const mode = statSync(process.argv[3] + '/run.sh').mode & 0o777;
    process.stdout.write(JSON.stringify({ first: first.version, again: again.version, contentId: result.contentId, text, mode, display: remote.display }));
  `;
  try {
    const url = `https://deploy:tls-secret@${server.origin.slice(8)}/app.zip`;
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, url, join(dir, 'cache'), testdir()], {
        cwd: root,
        env: { ...process.env, NODE_EXTRA_CA_CERTS: certFile },
        timeout: 30_000,
      }, (error, stdout, stderr) => (error ? reject(new Error(`child failed: ${stderr}`)) : resolve(stdout)));
    });
    const seen = JSON.parse(out) as Record<string, string | number>;
    assert.equal(seen.first, 'etag:"v1"');
    assert.equal(seen.again, seen.first);
    assert.match(String(seen.contentId), /^sha256:[0-9a-f]{64}$/);
    assert.equal(seen.text, 'tls\n');
    assert.equal(seen.mode, 0o755);
    assert.ok(!String(seen.display).includes('tls-secret'));
    assert.deepEqual(server.hits, ['/app.zip - auth', '/app.zip "v1" auth']);
  } finally {
    await server.close();
  }
});
