import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after } from 'node:test';
import { gzipSync } from 'node:zlib';
import { makeLayout, readTree, writeHook, type Layout } from '../support/cli.js';
import { entriesOf, makeZip } from '../support/zip.js';

// End-to-end: failures outside the agent's control (a server answering with something else
// than the zip, a cut body, a state file of another shape, a hook whose interpreter is
// missing) give messages that name the URL, file or hook and say what to do; nothing is
// published and nothing is left behind.

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A real HTTP server on 127.0.0.1 whose answer the test swaps; closed when the file ends. */
async function serve(): Promise<{ url: string; answer: (handler: Handler) => void }> {
  let handler: Handler = (_req, res) => res.writeHead(404).end();
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/app.zip`, answer: (h) => (handler = h) };
}

/** Answers with `body` and `headers` (status 200). */
function answerWith(body: Buffer | string, headers: Record<string, string | number>): Handler {
  return (_req, res) => res.writeHead(200, { 'content-length': Buffer.byteLength(body), ...headers }).end(body);
}

/** A layout with v1 deployed from the test server; returns the release id. */
async function deployedV1(layout: Layout, server: Awaited<ReturnType<typeof serve>>): Promise<string> {
  server.answer(answerWith(await makeZip(entriesOf({ 'v.txt': 'v1' })), { 'content-type': 'application/zip', etag: '"v1"' }));
  const r = await layout.fetch(server.url);
  assert.equal(r.code, 0, r.stderr);
  return layout.currentId()!;
}

/** Files of the cache that are not a finished archive or the cache's state. */
function cacheLeftovers(layout: Layout): string[] {
  return readdirSync(layout.cache, { recursive: true, encoding: 'utf8' })
    .map(String)
    .filter((p) => /\.part-|incoming|\.tmp-/.test(p));
}

/** Asserts that the failed run left v1 in place and nothing behind. */
function assertUnchanged(layout: Layout, first: string): void {
  assert.equal(layout.currentId(), first);
  assert.deepEqual(readTree(layout.link), { 'v.txt': 'v1' });
  assert.deepEqual(layout.releases(), [first]);
  assert.deepEqual(layout.leftovers(), []);
  assert.deepEqual(cacheLeftovers(layout), []);
}

test('an HTML page served as the zip: names the URL and what arrived, not a cache file', async () => {
  const layout = makeLayout();
  const server = await serve();
  const first = await deployedV1(layout, server);
  server.answer(answerWith('<!DOCTYPE html>\n<html><body>Please sign in</body></html>\n', { 'content-type': 'text/html; charset=utf-8', etag: '"login"' }));
  const r = await layout.fetch(server.url);
  assert.equal(r.code, 1, r.stderr);
  const message = r.stderr.split('\n').find((l) => l.startsWith('repo-deploy: '))!;
  assert.match(message, new RegExp(`${server.url.replace(/[.]/g, '\\.')} did not serve a zip archive \\(Content-Type: text/html; charset=utf-8; starts with "<!DOCTYPE html>`));
  assert.match(message, /check the URL/);
  assert.doesNotMatch(message, new RegExp(layout.cache.replace(/[.]/g, '\\.')), 'no cache path');
  assertUnchanged(layout, first);
});

test('a gzip file served as the zip (no Content-Encoding): says it is gzip data', async () => {
  const layout = makeLayout();
  const server = await serve();
  const first = await deployedV1(layout, server);
  server.answer(answerWith(gzipSync(Buffer.from('a tarball, say')), { 'content-type': 'application/gzip', etag: '"tgz"' }));
  const r = await layout.fetch(server.url);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /did not serve a zip archive \(Content-Type: application\/gzip; gzip data \(starts with bytes 1f 8b\), not a zip\): check the URL/);
  assertUnchanged(layout, first);
});

test('a zip sent with Content-Encoding: gzip is decoded and deployed', async () => {
  const layout = makeLayout();
  const server = await serve();
  const zip = await makeZip(entriesOf({ 'v.txt': 'gzipped v2' }));
  server.answer(answerWith(gzipSync(zip), { 'content-type': 'application/zip', 'content-encoding': 'gzip', etag: '"gz"' }));
  const r = await layout.fetch(server.url);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readTree(layout.link), { 'v.txt': 'gzipped v2' });
});

test('a body cut short: the message counts the bytes that did arrive', async () => {
  const layout = makeLayout();
  const server = await serve();
  const first = await deployedV1(layout, server);
  server.answer((_req, res) => {
    res.writeHead(200, { 'content-length': 1121, 'content-type': 'application/zip', etag: '"cut"' });
    // Written and closed at once: the bytes are still in the client's buffer when it fails.
    res.write(Buffer.alloc(121, 0x50));
    res.socket?.end();
  });
  const r = await layout.fetch(server.url);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /download failed after 121 of 1121 bytes: connection closed mid-body \(remote http:\/\/127\.0\.0\.1:\d+\/app\.zip\)/);
  assertUnchanged(layout, first);
});

for (const [name, content] of Object.entries({ array: '[]', 'number of releases': '{"releases": 5}', string: '"x"', 'bad release': '{"releases": {"r1": 3}}' })) {
  test(`a state.json of the wrong shape (${name}): names the file and says to move it aside`, async () => {
    const layout = makeLayout();
    const remote = join(layout.root, 'src');
    mkdirSync(remote);
    writeFileSync(join(remote, 'v.txt'), 'v1');
    const state = join(layout.deployDir, '.repo-deploy', 'state.json');
    assert.equal((await layout.fetch(remote)).code, 0);
    const first = layout.currentId()!;
    writeFileSync(join(remote, 'v.txt'), 'v2');
    writeFileSync(state, content);
    const r = await layout.fetch(remote);
    assert.notEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`state file ${state.replace(/[.]/g, '\\.')} is not a repo-deploy state \\(.+\\): move it aside and run again`));
    assert.doesNotMatch(r.stderr, /Cannot use|TypeError|undefined/);
    assert.equal(layout.currentId(), first);
    assert.deepEqual(readTree(layout.link), { 'v.txt': 'v1' });
  });
}

test('a hook whose #! interpreter is missing: says so, naming the interpreter', async () => {
  const layout = makeLayout();
  const server = await serve();
  const first = await deployedV1(layout, server);
  const hook = writeHook(layout, 'pre', '10-check');
  writeFileSync(hook, '#!/usr/bin/nosuch-interpreter -e\nprint "hi"\n');
  chmodSync(hook, 0o755);
  server.answer(answerWith(await makeZip(entriesOf({ 'v.txt': 'v2' })), { 'content-type': 'application/zip', etag: '"v2"' }));
  const r = await layout.fetch(server.url);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /pre-update hook 10-check could not be started: its interpreter \/usr\/bin\/nosuch-interpreter \(from "#!\/usr\/bin\/nosuch-interpreter -e" on the first line of \S+10-check\) was not found: install it or correct that line/);
  assert.doesNotMatch(r.stderr, /spawn \S+ ENOENT/);
  assertUnchanged(layout, first);
});
