import assert from 'node:assert/strict';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { HistoryEntry } from '../../src/history/history.js';
import { makeLayout, runCli, writeHook } from '../support/cli.js';
import { testdir, writeTree } from '../support/tmp.js';

// End to end through the built CLI: `history` lists every deploy, block, revert, rollback,
// resume, retry and repair, with who did it (the agent, or the operator's user name).

type Entry = HistoryEntry;

test('history after a deploy, a block, a retry, a revert, a rollback, a resume and a repair', async () => {
  const layout = makeLayout();
  const remote = testdir({ 'v.txt': 'v1' });
  writeFileSync(layout.config, 'id = agent-h\n');
  const asOperator = (args: string[]) => runCli([...args, ...layout.args(remote)], { cwd: layout.root, env: { SUDO_USER: 'alice' } });
  const history = async (): Promise<Entry[]> => {
    const r = await runCli(['history', '--json', ...layout.args(remote)], { cwd: layout.root });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { app: string; entries: Entry[] }[])[0]!.entries;
  };

  assert.equal((await layout.fetch(remote)).code, 0);
  const v1 = (await layout.status(remote)).current!;
  // Up to date: nothing happened, nothing recorded.
  assert.equal((await layout.fetch(remote)).code, 0);
  writeHook(layout, 'pre', '10-gate', 'exit 3');
  writeTree(remote, { 'v.txt': 'v2' });
  assert.equal((await layout.fetch(remote)).code, 1);
  assert.equal((await asOperator(['retry'])).code, 1);
  rmSync(join(layout.pre, '10-gate'));
  writeHook(layout, 'post', '10-check', '[ ! -f bad ] || exit 4');
  writeTree(remote, { 'v.txt': 'v3', bad: '' });
  assert.equal((await layout.fetch(remote)).code, 1);
  rmSync(join(remote, 'bad'));
  writeTree(remote, { 'v.txt': 'v4' });
  assert.equal((await layout.fetch(remote)).code, 0);
  const v4 = (await layout.status(remote)).current!;
  assert.equal((await asOperator(['rollback'])).code, 0);
  assert.equal((await asOperator(['resume'])).code, 0);
  assert.equal((await layout.fetch(remote)).code, 0);
  const again = (await layout.status(remote)).current!;
  // A file deleted from the current release: the next check repairs it.
  rmSync(join(layout.releasesDir, again.id, 'v.txt'));
  assert.equal((await layout.fetch(remote)).code, 0);
  const repaired = (await layout.status(remote)).current!;

  const entries = await history();
  const summary = entries.map((e) => `${e.action} ${e.result} ${e.actor} ${e.by}`).reverse();
  assert.deepEqual(summary, [
    'deploy deployed agent agent-h',
    'deploy blocked agent agent-h',
    'retry blocked operator alice',
    'deploy reverted agent agent-h',
    'deploy deployed agent agent-h',
    'rollback deployed operator alice',
    'resume resumed operator alice',
    'deploy deployed agent agent-h',
    'repair deployed agent agent-h',
  ]);
  const [first, blocked, , reverted, fourth, rollback, , redeploy, repair] = [...entries].reverse() as Entry[];
  assert.deepEqual([first!.fromVersion, first!.toVersion, first!.toRelease], [undefined, v1.version, v1.id]);
  assert.equal(blocked!.fromVersion, v1.version);
  assert.match(blocked!.message ?? '', /10-gate exited with status 3/);
  assert.equal(reverted!.fromRelease, v1.id);
  assert.equal(fourth!.toRelease, v4.id);
  assert.deepEqual([rollback!.fromRelease, rollback!.toRelease, rollback!.toVersion], [v4.id, v1.id, v1.version]);
  assert.equal(redeploy!.toVersion, v4.version);
  assert.deepEqual([repair!.fromRelease, repair!.toRelease], [again.id, repaired.id]);
  for (const e of entries) assert.ok(e.durationMs >= 0 && !Number.isNaN(Date.parse(e.at)), JSON.stringify(e));

  // Private like the state; the table names the same entries.
  assert.equal(statSync(join(layout.deployDir, '.repo-deploy', 'history.jsonl')).mode & 0o777, 0o600);
  const text = await runCli(['history', ...layout.args(remote)], { cwd: layout.root });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^ {2}TIME +ACTION +RESULT +FROM +TO +DURATION +BY$/m);
  assert.match(text.stdout, new RegExp(`rollback +deployed +\\S+ \\(${v4.id}\\) +\\S+ \\(${v1.id}\\) +[\\d.]+s +alice`));
});
