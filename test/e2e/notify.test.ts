import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { freePort, makeLayout, readTree, runCli, writeHook } from '../support/cli.js';
import { testdir, writeTree } from '../support/tmp.js';
import { startReceiver, type ReceivedPost } from '../support/webhook-receiver.js';

// End to end through the built CLI: `notify` POSTs a JSON event to real receivers on
// 127.0.0.1, signed with `notify-secret`; a stalled or dead receiver never holds up a deploy.

const events = (posts: ReceivedPost[], event: string) => posts.filter((p) => p.body.event === event);

test('deployed, blocked (once per version), reverted and rolled-back are POSTed, signed, with Basic auth from the URL that is never logged', async () => {
  const receiver = await startReceiver();
  const layout = makeLayout();
  const remote = testdir({ 'v.txt': 'v1' });
  const hookUrl = receiver.origin.replace('http://', 'http://hookuser:s3cr3t-pass@');
  writeFileSync(layout.config, `id = agent-7\nnotify = ${hookUrl}/hooks/deploys\nnotify-secret = topsecret-key\n`);

  const first = await layout.fetch(remote);
  assert.equal(first.code, 0, first.stderr);
  const v1 = await layout.status(remote);
  // A one-shot run waits (bounded) for its notifications before it exits.
  await receiver.waitFor('deployed', (p) => events(p, 'deployed').length === 1);
  const deployed = events(receiver.posts, 'deployed')[0]!;
  assert.equal(deployed.path, '/hooks/deploys');
  assert.equal(deployed.headers['x-repo-deploy-signature'], `sha256=${createHmac('sha256', 'topsecret-key').update(deployed.raw).digest('hex')}`);
  assert.equal(deployed.headers.authorization, `Basic ${Buffer.from('hookuser:s3cr3t-pass').toString('base64')}`);
  assert.equal(deployed.headers['content-type'], 'application/json');
  assert.deepEqual(
    { ...deployed.body, time: typeof deployed.body.time, text: typeof deployed.body.text },
    { event: 'deployed', app: 'default', agent: 'agent-7', version: v1.current!.version, previousVersion: null, release: v1.current!.id, result: 'ok', message: null, time: 'string', text: 'string' },
  );
  assert.match(deployed.body.text as string, new RegExp(`^default on agent-7: deployed ${v1.current!.version}`));

  // A failing pre-update hook blocks v2: one notification, not one per retry.
  writeHook(layout, 'pre', '10-gate', 'exit 3');
  writeTree(remote, { 'v.txt': 'v2' });
  assert.equal((await layout.fetch(remote)).code, 1);
  const again = await runCli(['retry', ...layout.args(remote)], { cwd: layout.root });
  assert.equal(again.code, 1, again.stderr);
  await receiver.waitFor('blocked', (p) => events(p, 'blocked').length === 1);
  const blocked = events(receiver.posts, 'blocked')[0]!;
  assert.equal(blocked.body.previousVersion, v1.current!.version);
  assert.equal(blocked.body.result, 'error');
  assert.match(blocked.body.message as string, /10-gate exited with status 3/);
  assert.equal(layout.currentId(), v1.current!.id);

  // A failing post-update hook reverts v3 to v1.
  rmSync(`${layout.pre}/10-gate`);
  writeHook(layout, 'post', '10-check', '[ ! -f bad ] || exit 4');
  writeTree(remote, { 'v.txt': 'v3', bad: '' });
  assert.equal((await layout.fetch(remote)).code, 1);
  await receiver.waitFor('reverted', (p) => events(p, 'reverted').length === 1);
  const reverted = events(receiver.posts, 'reverted')[0]!.body;
  assert.equal(reverted.previousVersion, v1.current!.version);
  assert.match(reverted.text as string, /reverted/);

  // v4 deploys; an operator's rollback goes back to v1.
  rmSync(`${remote}/bad`);
  appendFileSync(`${remote}/v.txt`, ' v4');
  assert.equal((await layout.fetch(remote)).code, 0);
  const v4 = await layout.status(remote);
  const back = await runCli(['rollback', ...layout.args(remote)], { cwd: layout.root });
  assert.equal(back.code, 0, back.stderr);
  await receiver.waitFor('rolled-back', (p) => events(p, 'rolled-back').length === 1);
  const rolled = events(receiver.posts, 'rolled-back')[0]!.body;
  assert.equal(rolled.version, v1.current!.version);
  assert.equal(rolled.previousVersion, v4.current!.version);
  assert.equal(rolled.release, v1.current!.id);
  assert.deepEqual(readTree(layout.link), { 'v.txt': 'v1' });
  assert.deepEqual(receiver.posts.map((p) => p.body.event), ['deployed', 'blocked', 'reverted', 'deployed', 'rolled-back']);
  for (const p of receiver.posts) assert.equal(p.headers['x-repo-deploy-signature'], `sha256=${createHmac('sha256', 'topsecret-key').update(p.raw).digest('hex')}`);
});

test('a receiver that stalls and one that is down: the deploy succeeds, current is the new release; the password in the URL is never logged', async () => {
  const stalled = await startReceiver({ stall: true });
  const healthy = await startReceiver();
  const downPort = await freePort();
  const layout = makeLayout();
  const remote = testdir({ 'v.txt': 'v1' });
  const urls = [`${stalled.origin.replace('http://', 'http://u:stall-pass@')}/a`, `http://u:down-pass@127.0.0.1:${downPort}/b`, `${healthy.origin}/c`];
  writeFileSync(layout.config, `notify = ${urls.join(', ')}\n`);
  // Killed (code null) if the run waited for the stalled receiver without bound.
  const run = await layout.fetch(remote, [], { timeoutMs: 120_000 });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(readTree(layout.link), { 'v.txt': 'v1' });
  const status = await layout.status(remote);
  assert.equal(layout.currentId(), status.current!.id);
  assert.equal(status.lastCheck?.result, 'deployed');
  assert.ok(stalled.requests() >= 1, 'the stalled receiver was asked');
  await healthy.waitFor('deployed at the healthy receiver', (p) => events(p, 'deployed').length === 1);
  // The failed deliveries are logged, naming the receiver without its credentials.
  assert.ok(run.logs.some((l) => /could not deliver notification/.test(l.msg) && String(l.url).includes(`127.0.0.1:${downPort}`)), run.stderr);
  assert.doesNotMatch(run.stderr, /stall-pass|down-pass/);
});
