import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { makeLayout, readTree, type Layout } from '../support/cli.js';
import { startEtcd } from '../support/etcd.js';
import { closedPort, s3rverKeys, startS3rver } from '../support/s3rver.js';
import { entriesOf, makeZip } from '../support/zip.js';

// End-to-end: services that are not what the config says they are. An S3 endpoint answering
// like some other web server, and an etcd that cannot be reached, give messages that name the
// endpoint and say what to check, instead of the SDK's or grpc's internals.

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A layout whose config file holds `lines` (mode 0600: it may hold keys). */
function layoutWith(lines: string[]): Layout {
  const layout = makeLayout();
  writeFileSync(layout.config, `${lines.join('\n')}\n`);
  chmodSync(layout.config, 0o600);
  return layout;
}

/** The one `repo-deploy: …` line of a run's standard error. */
function messageOf(stderr: string): string {
  return stderr.split('\n').find((l) => l.startsWith('repo-deploy: ') && !l.includes('warning'))!;
}

test('an S3 endpoint answering like another web server: names the endpoint and what came back', async () => {
  const s3 = await startS3rver(['apps']);
  after(() => s3.close());
  await s3.put('apps', 'app.zip', await makeZip(entriesOf({ 'v.txt': 'v1' })));
  const layout = layoutWith([`s3-endpoint = ${s3.endpoint}`, `aws-access-key = ${s3rverKeys.accessKeyId}`, `aws-secret-key = ${s3rverKeys.secretAccessKey}`, 'aws-region = us-east-1']);
  const remote = 's3://apps/app.zip';
  assert.equal((await layout.fetch(remote)).code, 0);
  const first = layout.currentId()!;

  // A 404 page of some web server (the endpoint is wrong: not the store, or a path too many).
  s3.intercept = (_req, res) => {
    res.writeHead(404, { 'content-type': 'text/html' }).end('<!DOCTYPE html><title>Not Found</title>');
    return true;
  };
  let r = await layout.fetch(remote);
  assert.equal(r.code, 1, r.stderr);
  let message = messageOf(r.stderr);
  assert.match(message, new RegExp(`the s3 endpoint \\(endpoint ${escape(s3.endpoint)}\\) answered the request for bucket "apps", key "app.zip" with something other than an S3 response \\(HTTP 404, Content-Type: text/html(, starts with "<!DOCTYPE html>.*")?\\): check s3-endpoint`));
  assert.doesNotMatch(message, /\$response|Deserialization|UnknownError/);

  // A 200 web page: no ETag, which every S3 answer has.
  s3.intercept = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<html>welcome</html>');
    return true;
  };
  r = await layout.fetch(remote);
  assert.equal(r.code, 1, r.stderr);
  message = messageOf(r.stderr);
  assert.match(message, new RegExp(`the s3 endpoint \\(endpoint ${escape(s3.endpoint)}\\) answered .* with something other than an S3 response \\(HTTP 200, Content-Type: text/html, no ETag\\): check s3-endpoint`));

  assert.equal(layout.currentId(), first);
  assert.deepEqual(readTree(layout.link), { 'v.txt': 'v1' });
  assert.deepEqual(layout.leftovers(), []);
});

test('an unreachable etcd: names the endpoints, says it cannot be reached and what to check', async () => {
  const etcd = await startEtcd();
  after(() => etcd.stop());
  const layout = layoutWith([`etcd = ${etcd.endpoint}`, 'lease-ttl = 2s']);
  const remote = join(layout.root, 'src');
  mkdirSync(remote);
  writeFileSync(join(remote, 'v.txt'), 'v1');
  assert.equal((await layout.fetch(remote)).code, 0);
  const first = layout.currentId()!;

  // The etcd this host used went down.
  await etcd.stop();
  writeFileSync(join(remote, 'v.txt'), 'v2');
  let r = await layout.fetch(remote);
  assert.notEqual(r.code, 0, r.stderr);
  let message = messageOf(r.stderr);
  assert.match(message, new RegExp(`etcd unreachable at ${escape(etcd.endpoint)} while [a-z ]+: connection refused; check that etcd runs there`));
  assert.doesNotMatch(message, /Last error|Resolution note|UNAVAILABLE/);

  // An endpoint where nothing ever listened.
  const nowhere = `http://127.0.0.1:${await closedPort()}`;
  writeFileSync(layout.config, `etcd = ${nowhere}\n`);
  r = await layout.fetch(remote);
  assert.notEqual(r.code, 0, r.stderr);
  message = messageOf(r.stderr);
  assert.match(message, new RegExp(`etcd unreachable at ${escape(nowhere)} while [a-z ]+: connection refused; check that etcd runs there and that the \`etcd\` key lists its client URLs`));
  assert.doesNotMatch(message, /Last error|Resolution note|UNAVAILABLE/);

  assert.equal(layout.currentId(), first);
  assert.deepEqual(readTree(layout.link), { 'v.txt': 'v1' });
});
