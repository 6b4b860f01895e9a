// Issue 19: repo-deploy upgraded under a running daemon (its installed files replaced, no
// restart). The daemon must not start children from the new files: it keeps deploying (the
// fetch runs in its own process), says in its log that a restart is needed, and `status` shows
// it until the daemon stops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yazl from 'yazl';
import { makeLayout, parseLogs, readTree, runCli, waitFor, type LogLine } from '../support/cli.js';
import { testdir, writeTree } from '../support/tmp.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The built package as `npm install` lays it out: bin/, dist/ (modules only), package.json, node_modules. */
function installCopy(): string {
  const dir = join(testdir(), 'repo-deploy');
  mkdirSync(dir);
  cpSync(join(repoRoot, 'bin'), join(dir, 'bin'), { recursive: true });
  cpSync(join(repoRoot, 'dist'), join(dir, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') && !src.endsWith('.d.ts') });
  cpSync(join(repoRoot, 'package.json'), join(dir, 'package.json'));
  symlinkSync(realpathSync(join(repoRoot, 'node_modules')), join(dir, 'node_modules'));
  return dir;
}

/**
 * Replaces every module under dist/ the way a package manager does (a new file renamed over
 * the old), with one that fails to load: a process that imports any of them after this fails.
 */
function upgradeInPlace(dir: string): number {
  let replaced = 0;
  for (const name of readdirSync(join(dir, 'dist'), { recursive: true, encoding: 'utf8' })) {
    if (!name.endsWith('.js')) continue;
    const path = join(dir, 'dist', name);
    writeFileSync(`${path}.new`, `${readFileSync(path, 'utf8')}\nthrow new Error('new repo-deploy files loaded by an old daemon');\n`);
    renameSync(`${path}.new`, path);
    replaced += 1;
  }
  return replaced;
}

test('a daemon whose installed files were replaced keeps deploying without children from the new files, and says a restart is needed', async () => {
  const installed = installCopy();
  const layout = makeLayout();
  const remote = join(layout.root, 'src');
  mkdirSync(remote);
  writeTree(remote, { 'v.txt': 'v1' });
  writeFileSync(layout.config, 'schedule = */1 * * * * *\n');
  const daemon = spawn(process.execPath, [join(installed, 'bin', 'repo-deploy'), ...layout.args(remote), '-v'], { cwd: layout.root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  daemon.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => daemon.on('close', (code) => resolve(code)));
  const logs = (): LogLine[] => parseLogs(stderr);
  const deployed = () => logs().filter((l) => l.msg === 'deployed').length;
  try {
    await waitFor(() => `the first deploy; stderr: ${stderr.slice(-2000)}`, () => deployed() >= 1, 30_000);
    assert.deepEqual(readTree(layout.link), { 'v.txt': 'v1' });
    assert.ok(logs().some((l) => l.msg === 'fetched in a child process'), 'the first fetch ran in a child');
    assert.equal((await layout.status(remote)).restartNeeded, undefined);

    assert.ok(upgradeInPlace(installed) > 50);
    const before = logs().length;
    writeTree(remote, { 'v.txt': 'v2' });
    await waitFor(() => `the deploy after the upgrade; stderr: ${stderr.slice(-3000)}`, () => deployed() >= 2, 30_000);
    assert.deepEqual(readTree(layout.link), { 'v.txt': 'v2' });
    const after = logs().slice(before);
    assert.ok(!after.some((l) => l.msg === 'fetched in a child process'), 'no child after the upgrade');
    assert.ok(!stderr.includes('new repo-deploy files loaded'), 'nothing loaded the new files');
    const warning = after.find((l) => l.level === 'warn' && /installed files .*changed/.test(l.msg));
    assert.ok(warning, `no warning; logged: ${after.map((l) => l.msg).join(' | ')}`);
    assert.match(warning.msg, /restart the daemon/);
    assert.ok((warning.changed as string[]).some((f) => f.startsWith('dist/')), JSON.stringify(warning.changed));
    assert.equal(daemon.exitCode, null, 'the daemon still runs');

    // `status` (another process, from intact files) shows it.
    const status = await layout.status(remote);
    assert.equal(status.restartNeeded?.pid, daemon.pid);
    const human = await runCli(['status', ...layout.args(remote)], { cwd: layout.root });
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`daemon +pid ${daemon.pid} runs an older repo-deploy than the installed files.*restart it`));
  } finally {
    daemon.kill('SIGTERM');
  }
  assert.equal(await exited, 0, stderr.slice(-2000));
  // A daemon gone needs no restart.
  assert.equal((await layout.status(remote)).restartNeeded, undefined);
});

/** A zip of `count` small files, one of them reading `version`, every entry dated `mtime`. */
async function manyFileZip(path: string, count: number, version: string, mtime: Date): Promise<void> {
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from(version), 'version.txt', { mtime, mode: 0o100644 });
  for (let i = 1; i < count; i++) zip.addBuffer(Buffer.from(`file ${i}\n`), `d${i % 7}/f${i}.txt`, { mtime, mode: 0o100644 });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  writeFileSync(path, Buffer.concat(chunks));
}

test('after an upgrade in place the daemon clones a release of thousands of files without threads from the new files', async () => {
  const installed = installCopy();
  const layout = makeLayout();
  const remote = join(layout.root, 'app.zip');
  const mtime = new Date('2024-03-04T05:06:08Z');
  await manyFileZip(remote, 1500, 'v1', mtime);
  writeFileSync(layout.config, 'schedule = */1 * * * * *\n');
  const daemon = spawn(process.execPath, [join(installed, 'bin', 'repo-deploy'), ...layout.args(remote), '-v'], { cwd: layout.root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  daemon.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => daemon.on('close', (code) => resolve(code)));
  const deployed = () => parseLogs(stderr).filter((l) => l.msg === 'deployed').length;
  try {
    await waitFor(() => `the first deploy; stderr: ${stderr.slice(-2000)}`, () => deployed() >= 1, 30_000);
    assert.ok(upgradeInPlace(installed) > 50);
    await manyFileZip(`${remote}.new`, 1500, 'v2', mtime);
    renameSync(`${remote}.new`, remote);
    await waitFor(() => `the deploy after the upgrade; stderr: ${stderr.slice(-3000)}`, () => deployed() >= 2, 30_000);
    assert.equal(readFileSync(join(layout.link, 'version.txt'), 'utf8'), 'v2');
    assert.ok(!stderr.includes('new repo-deploy files loaded'), 'a thread loaded the new files');
    const status = (await layout.status(remote)) as { current?: { detail?: Record<string, string> } };
    assert.equal(status.current?.detail?.filesReused, '1499/1500');
  } finally {
    daemon.kill('SIGTERM');
  }
  assert.equal(await exited, 0, stderr.slice(-2000));
});
