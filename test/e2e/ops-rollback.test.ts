import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hookRuns, makeAppsLayout, readTree, runCliUntilFree, startBackground, writeHook, type AppsLayout, type AppStatusJson, type Background } from '../support/cli.js';
import { writeTree } from '../support/tmp.js';

// End-to-end: operator commands against a running daemon. `rollback` makes an
// earlier release current with hooks and holds it (the daemon does not redeploy the version
// rolled back from) until `resume`; `check` asks the daemon to check now.

/** Operator commands race the daemon's checks for the app's lock: retried on exit 75. */
const operate = (layout: AppsLayout, args: string[]) => runCliUntilFree(['-c', layout.config, ...args], { cwd: layout.root });

const deployedCount = (daemon: Background, app: string) => daemon.logs.filter((l) => l.msg === 'deployed' && l.app === app).length;

/** Polls `status --json` until `test` holds for app web. */
async function waitForStatus(layout: AppsLayout, what: string, test: (s: AppStatusJson) => boolean, timeoutMs = 10_000): Promise<AppStatusJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = (await layout.status()).web!;
    if (test(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; status: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Two apps under a daemon that checks every second; web deployed twice (v1, then v2), api once. */
async function webAtV2() {
  const layout = makeAppsLayout(['web', 'api']);
  const { web, api } = layout.apps as Record<'web' | 'api', (typeof layout.apps)[string]>;
  layout.writeConfig('schedule = */1 * * * * *');
  writeTree(web.remote, { 'v.txt': 'web v1' });
  writeTree(api.remote, { 'v.txt': 'api v1' });
  writeHook(web, 'pre', '10-pre');
  writeHook(web, 'post', '10-post');
  const daemon = startBackground(['-c', layout.config], { cwd: layout.root });
  await daemon.waitForLog('both apps deployed', () => deployedCount(daemon, 'web') === 1 && deployedCount(daemon, 'api') === 1);
  const v1 = web.currentId()!;
  writeTree(web.remote, { 'v.txt': 'web v2' });
  await daemon.waitForLog('web v2 deployed', () => deployedCount(daemon, 'web') === 2);
  const v2 = web.currentId()!;
  assert.notEqual(v1, v2);
  const v2Version = (await layout.status()).web!.current!.version;
  return { layout, web, api, daemon, v1, v2, v2Version };
}

/** api was never touched; the daemon stops cleanly. */
async function apiUntouchedAndStop({ daemon, api }: Awaited<ReturnType<typeof webAtV2>>): Promise<void> {
  assert.equal(deployedCount(daemon, 'api'), 1, 'api untouched throughout');
  assert.deepEqual(readTree(api.link), { 'v.txt': 'api v1' });
  daemon.child.kill('SIGTERM');
  assert.equal((await daemon.exited).code, 0, daemon.stderr().slice(-2000));
}

/** Rolls web back to v1 (to the previous release). */
async function rollBack(at: Awaited<ReturnType<typeof webAtV2>>): Promise<void> {
  const back = await operate(at.layout, ['rollback', 'web']);
  assert.equal(back.code, 0, back.stderr);
  assert.match(back.stdout, new RegExp(`web: rolled back to release ${at.v1} \\(from ${at.v2}\\)`));
  assert.equal(at.web.currentId(), at.v1);
}

test('rollback with the daemon running: hooks run for the release rolled back to; the version rolled back from is held across checks', async () => {
  const at = await webAtV2();
  const { layout, web, daemon, v1, v2, v2Version } = at;
  const hooksBefore = hookRuns(web).length;
  await rollBack(at);
  assert.deepEqual(readTree(web.link), { 'v.txt': 'web v1' });
  assert.deepEqual(hookRuns(web).slice(hooksBefore).map((h) => `${h.name} ${h.phase} ${h.release}`), [`10-pre pre-update ${v1}`, `10-post post-update ${v1}`]);
  const rolledBackAt = Date.now();
  // Before the daemon's next check, status already says the app is held and from what.
  const justHeld = (await layout.status()).web!;
  assert.equal(justHeld.hold?.releaseId, v1);
  assert.ok(justHeld.hold?.fromVersions.includes(v2Version), JSON.stringify(justHeld.hold));
  const heldText = await layout.run(['status', 'web']);
  assert.match(heldText.stdout, new RegExp(`^held +at ${v1} since \\S+ by a rollback \\(not redeploying [^)]*${v2Version}[^)]*\\); repo-deploy resume web lifts it$`, 'm'));

  // Several ticks later the daemon still holds v1 and says so.
  const held = await waitForStatus(layout, 'a held check 3 s after the rollback', (s) => s.lastCheck?.result === 'held' && Date.parse(s.lastCheck.at) > rolledBackAt + 3_000);
  assert.equal(held.current?.id, v1);
  assert.equal(held.lastCheck?.version, v2Version);
  assert.equal(web.currentId(), v1);
  assert.equal(deployedCount(daemon, 'web'), 2, 'not redeployed while held');
  assert.deepEqual(web.releases(), [v1, v2]);
  const text = await layout.run(['status']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^last check +\S+ held /m);
  assert.match(text.stdout, /^app +web$/m);
  assert.match(text.stdout, /^app +api$/m);
  await apiUntouchedAndStop(at);
});

test('resume after a rollback: the daemon activates the held version again from disk; a second resume says it was not held', async () => {
  const at = await webAtV2();
  const { layout, web, daemon, v1, v2, v2Version } = at;
  await rollBack(at);
  const resumed = await operate(layout, ['resume', 'web']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /web: resumed/);
  await daemon.waitForLog('web redeployed after resume', () => deployedCount(daemon, 'web') === 3);
  assert.deepEqual(readTree(web.link), { 'v.txt': 'web v2' });
  // The v2 release still on disk is activated again: no download, no second release of it.
  assert.equal(web.currentId(), v2);
  assert.deepEqual(web.releases(), [v1, v2]);
  const after = (await layout.status()).web!;
  assert.equal(after.current?.version, v2Version);
  assert.equal(after.previous?.id, v1);
  assert.equal(after.hold, undefined, 'resume lifted the hold');
  const again = await operate(layout, ['resume', 'web']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /web: was not held/);
  await apiUntouchedAndStop(at);
});

test('rollback --to a release; an unknown release, the current one or no app name: exit 2, nothing changed', async () => {
  const at = await webAtV2();
  const { layout, web, v1 } = at;
  const to = await operate(layout, ['rollback', 'web', '--to', v1]);
  assert.equal(to.code, 0, to.stderr);
  assert.equal(web.currentId(), v1);
  assert.equal(hookRuns(web).at(-1)?.release, v1, 'post hook ran for the release rolled back to');

  const unknown = await operate(layout, ['rollback', 'web', '--to', '20200101T000000Z-nope']);
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.match(unknown.stderr, /no release 20200101T000000Z-nope in .*releases; see repo-deploy releases web/);
  assert.equal(web.currentId(), v1);
  const current = await operate(layout, ['rollback', 'web', '--to', v1]);
  assert.equal(current.code, 2, current.stderr);
  assert.match(current.stderr, /already current/);
  const noApp = await operate(layout, ['rollback']);
  assert.equal(noApp.code, 2, noApp.stderr);
  assert.match(noApp.stderr, /needs an app name: one of web, api/);
  await apiUntouchedAndStop(at);
});

test('check --no-wait web asks a running daemon to check now; without a daemon it exits 1 naming the pid file', async () => {
  const layout = makeAppsLayout(['web', 'api']);
  const { web, api } = layout.apps as Record<'web' | 'api', (typeof layout.apps)[string]>;
  // Midnight only: any check after the start-up one is the one `check` asked for.
  layout.writeConfig('schedule = 0 0 * * *');
  writeTree(web.remote, { 'v.txt': 'web v1' });
  writeTree(api.remote, { 'v.txt': 'api v1' });

  const before = await layout.run(['check', 'web']);
  assert.equal(before.code, 1, before.stderr);
  assert.match(before.stderr, /no repo-deploy daemon is running for app web \(no live pid in \S+daemon\.pid\)/);

  const daemon = startBackground(['-c', layout.config], { cwd: layout.root });
  await daemon.waitForLog('start-up deploys', () => deployedCount(daemon, 'web') === 1 && deployedCount(daemon, 'api') === 1);
  writeTree(web.remote, { 'v.txt': 'web v2' });
  const askedAt = Date.now();
  const asked = await layout.run(['check', '--no-wait', 'web']);
  assert.equal(asked.code, 0, asked.stderr);
  assert.match(asked.stdout, new RegExp(`asked the daemon \\(pid ${daemon.child.pid}\\) to check now`));
  await daemon.waitForLog('web deployed on request', () => deployedCount(daemon, 'web') === 2, 5_000);
  assert.ok(Date.now() - askedAt < 5_000);
  assert.deepEqual(readTree(web.link), { 'v.txt': 'web v2' });
  assert.deepEqual(readTree(api.link), { 'v.txt': 'api v1' });
  assert.equal(daemon.child.exitCode, null, 'SIGUSR1 did not end the daemon');

  daemon.child.kill('SIGTERM');
  assert.equal((await daemon.exited).code, 0, daemon.stderr().slice(-2000));
  const gone = await layout.run(['check', 'web']);
  assert.equal(gone.code, 1, gone.stderr);
  assert.match(gone.stderr, /daemon\.pid/);
});
