/**
 * The status page of `GET /`, in a real headless Chromium: the built CLI runs as a daemon with
 * `listen`, deploys two apps for real (a local directory, and an HTTP zip behind Basic auth
 * whose credentials are in the remote URL), one of them in an etcd rollout group; the page must
 * load without console errors, load nothing else, run no script, and show what `status --json`
 * says, and the app's history, with hook output containing markup shown as text and no
 * credentials anywhere.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appendHistory } from '../../src/history/index.js';
import { freePort, runCli, startBackground, waitFor, type AppStatusJson } from '../support/cli.js';
import { launchChromium } from '../support/chromium.js';
import { startEtcd } from '../support/etcd.js';
import { startHttpServer } from '../support/http-server.js';
import { testdir, writeTree } from '../support/tmp.js';
import { entriesOf, makeZip } from '../support/zip.js';

const secret = 's3cret-pass';
const hookOutput = '<script>window.pwned = 1</script> & "quoted" <b>bold</b>';

/** Two apps in one config: `web` (a local directory named with markup, in etcd) and `api` (HTTP). */
async function setUp(): Promise<{ root: string; config: string; port: number; links: string[] }> {
  const root = testdir();
  const etcd = await startEtcd();
  const http = await startHttpServer();
  after(() => http.close());
  http.requireAuth('deploy', secret);
  http.put('/api.zip', { body: await makeZip(entriesOf({ 'index.js': 'api v1' })) });
  const webSrc = join(root, 'src & <i>web</i>');
  writeTree(webSrc, { 'v.txt': 'web v1' });
  for (const app of ['web', 'api']) for (const dir of ['pre', 'post']) mkdirSync(join(root, app, dir), { recursive: true });
  writeFileSync(join(root, 'web/post/10-say'), `#!/bin/sh\necho '${hookOutput}'\necho 'notified http://deploy:${secret}@hooks.example.test/done'\n`, { mode: 0o755 });
  const port = await freePort();
  const hooks = (app: string) => `pre-hooks = ${join(root, app, 'pre')}\npost-hooks = ${join(root, app, 'post')}\nlocal = ${join(root, 'deploy', app, 'current')}\n`;
  const config = join(root, 'repo-deploy.cfg');
  writeFileSync(
    config,
    `schedule = */1 * * * * *\nlisten = 127.0.0.1:${port}\ncache = ${join(root, 'cache')}\nid = page-host\n` +
      `[app web]\nremote = ${webSrc}\n${hooks('web')}etcd = ${etcd.endpoint}\n` +
      `[app api]\nremote = http://deploy:${secret}@127.0.0.1:${new URL(http.origin).port}/api.zip\n${hooks('api')}`,
    { mode: 0o600 },
  );
  return { root, config, port, links: ['web', 'api'].map((a) => join(root, 'deploy', a, 'current')) };
}

const linked = (link: string) => {
  try {
    return readlinkSync(link);
  } catch {
    return null;
  }
};

test('the status page shows each app, its versions and results, and the rollout group, in Chromium', async () => {
  const { root, config, port, links } = await setUp();
  const daemon = startBackground(['-c', config], { cwd: root });
  const url = `http://127.0.0.1:${port}/`;
  const browser = await launchChromium();
  try {
    await waitFor(() => `both deploys\n${daemon.stderr().slice(-3000)}`, () => links.every((l) => linked(l) !== null), 90_000);
    // The agent reports to etcd after its check: wait until the page shows it registered.
    let body = '';
    for (const deadline = Date.now() + 30_000; !/page-host <span class="badge/.test(body); await new Promise((r) => setTimeout(r, 200))) {
      if (Date.now() > deadline) assert.fail(`the agent never showed in the rollout group:\n${body}`);
      body = await fetch(url).then((r) => r.text());
    }
    // What the history module records (an operator's resume), read back through the page.
    await appendHistory(join(root, 'deploy', 'web'), { at: new Date().toISOString(), action: 'resume', result: 'resumed', durationMs: 12, actor: 'operator', by: 'alice', message: 'held <b>by</b> ops' });
    const status = await runCli(['status', '--json', '-c', config], { cwd: root });
    assert.equal(status.code, 0, status.stderr);
    const apps = Object.fromEntries((JSON.parse(status.stdout) as AppStatusJson[]).map((s) => [s.app, s]));

    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => requests.push(r.url()));
    const response = await page.goto(url);
    assert.equal(response?.status(), 200);

    for (const name of ['web', 'api']) {
      const text = await page.locator(`#app-${name}`).innerText();
      const s = apps[name]!;
      assert.ok(s.current, `${name} has no current release: ${JSON.stringify(s)}`);
      assert.ok(text.includes(s.current.id) && text.includes(s.current.version), `${name}: ${text}`);
      assert.ok(text.includes(s.lastCheck!.result), `${name}: result ${s.lastCheck!.result} not shown:\n${text}`);
    }
    const web = await page.locator('#app-web').innerText();
    assert.ok(web.includes(hookOutput), `hook output not shown as text:\n${web}`);
    assert.ok(web.includes('src & <i>web</i>'), web);
    const history = await page.locator('#app-web .history').innerText();
    assert.match(history, /resume\s+resumed/);
    assert.ok(history.includes('alice') && history.includes('held <b>by</b> ops'), history);
    const fleet = await page.locator('section.fleet').innerText();
    assert.match(fleet, /Rollout group web/);
    assert.ok(fleet.includes('page-host'), fleet);
    assert.equal(await page.locator(`section.fleet code[title="${apps.web!.current!.version}"]`).count(), 1, 'the agent not listed under its version');

    assert.equal(await page.locator('script').count(), 0);
    assert.equal(await page.locator('i, b').count(), 0, 'markup of the remote or hook output became elements');
    assert.equal(await page.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined);
    const html = await page.content();
    assert.ok(!html.includes(secret) && !html.includes('deploy:'), 'credentials on the page');
    assert.ok((await page.locator('#app-api').innerText()).includes(`http://127.0.0.1:`), 'api remote not shown');
    assert.match((await page.locator('meta[http-equiv="refresh"]').getAttribute('content')) ?? '', /^\d+$/);
    assert.deepEqual(errors, []);
    assert.deepEqual(requests.filter((r) => r !== url), [], 'the page loaded something else');

    // Rendered on the server: without JavaScript the same facts are there.
    const noJs = await browser.newContext({ javaScriptEnabled: false });
    const plain = await noJs.newPage();
    await plain.goto(url);
    assert.ok((await plain.locator('#app-web').innerText()).includes(apps.web!.current!.id));
    await noJs.close();
  } finally {
    await browser.close();
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  }
});
