import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeLayout, readTree, startBackground, waitFor, writeHook, type LogLine } from '../support/cli.js';
import { makeZip, type ZipEntry } from '../support/zip.js';

// End-to-end crash safety (DESIGN §8): a deploy of a 1,200-file zip with a slowish post hook
// is killed with SIGKILL at random moments, alternating between two versions, by `-f` and
// (every third run) by the daemon, whose fetch runs in a child process. After every
// kill `current` is missing only if nothing was ever deployed, and otherwise points at a
// complete release of one of the two versions; the next normal run settles everything.

const files = 1_200;
const minKills = 20;
/** Stop adding kills beyond `minKills` once this much time has gone. */
const budgetMs = 20_000;

function version(tag: string): { entries: ZipEntry[]; tree: Record<string, string> } {
  const tree: Record<string, string> = { VERSION: tag };
  for (let i = 0; i < files; i++) tree[`d${i % 25}/f${i}.txt`] = `${tag}-${i}\n`.repeat(8);
  return { tree, entries: Object.entries(tree).map(([name, content]) => ({ name, content })) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('crash safety: SIGKILL at random points never leaves current broken', async (t) => {
  const versions = [version('A'), version('B')];
  const zips = await Promise.all(versions.map((v) => makeZip(v.entries)));

  // Calibrate the kill window on a scratch layout: how long a deploy takes from its first log
  // line to its last (node's start-up before the first line is a dull place to kill).
  const scratch = makeLayout();
  writeFileSync(join(scratch.root, 'app.zip'), zips[0]!);
  writeHook(scratch, 'post', '10-restart', 'sleep 0.2');
  const full = await scratch.fetch(join(scratch.root, 'app.zip'));
  assert.equal(full.code, 0, full.stderr);
  const spanMs = Date.parse(String(full.logs.at(-1)?.time)) - Date.parse(String(full.logs[0]?.time));
  assert.ok(spanMs > 0, `calibration logs: ${full.stderr}`);
  let windowMs = Math.ceil(spanMs * 1.2);
  t.diagnostic(`a full deploy takes ${full.durationMs} ms, ${spanMs} ms of it logging; killing 0-${windowMs} ms after the first log line (every 5th run: after the spawn)`);

  const layout = makeLayout();
  const remote = join(layout.root, 'app.zip');
  // A post hook that takes a while, so kills also land after the swap, before confirmation.
  writeHook(layout, 'post', '10-restart', 'sleep 0.2');
  const publish = (n: number) => {
    writeFileSync(`${remote}.tmp`, zips[n]!);
    renameSync(`${remote}.tmp`, remote);
  };

  /** `current`: null when missing; else the version tag whose tree it holds exactly. */
  const currentVersion = (when: string): string | null => {
    let target: string;
    try {
      target = readlinkSync(layout.link);
    } catch {
      assert.throws(() => lstatSync(layout.link), `${when}: current is neither a link nor missing`);
      return null;
    }
    assert.match(target, /^releases\/[^/]+$/, `${when}: current -> ${target}`);
    const tree = readTree(layout.link);
    const match = versions.findIndex((v) => sameTree(tree, v.tree));
    assert.ok(match >= 0, `${when}: current (${target}) holds ${Object.keys(tree).length} files, not a complete version`);
    return match === 0 ? 'A' : 'B';
  };

  const started = Date.now();
  const lastSteps = new Map<string, number>();
  let everDeployed = false;
  let midUpdate = 0;
  for (let i = 0; i < minKills || (Date.now() - started < budgetMs && i < minKills + 5); i++) {
    const n = i % 2;
    publish(n);
    const delay = Math.floor(Math.random() * windowMs);
    // Every third run is the daemon, whose fetch runs in a child process: killing the daemon
    // must leave nothing behind either (the orphaned child stops writing and exits).
    const daemon = i % 3 === 1;
    const run = startBackground([...layout.args(remote), ...(daemon ? [] : ['-f'])], { cwd: layout.root });
    // Mostly from the first log line (the update itself); sometimes from the spawn, to also
    // hit start-up and the recovery of the previous kill.
    const fromSpawn = i % 5 === 4;
    if (!fromSpawn) await waitFor('the first log line', () => run.logs.length > 0 || run.child.exitCode !== null, 15_000);
    await sleep(delay);
    run.child.kill('SIGKILL');
    const end = await run.exited;
    const step = lastStep(run.logs, end.code);
    lastSteps.set(step, (lastSteps.get(step) ?? 0) + 1);
    if (step !== 'not started' && step !== 'finished') midUpdate++;

    const when = `kill ${i} of ${daemon ? 'the daemon' : '-f'} ${delay} ms after the ${fromSpawn ? 'spawn' : 'first log line'} (last step: ${step})`;
    const seen = currentVersion(when);
    if (seen === null) assert.equal(everDeployed, false, `${when}: current missing after a deploy`);
    else everDeployed = true;

    const settle = await layout.fetch(remote);
    assert.equal(settle.code, 0, `${when}: the next run failed:\n${settle.stderr}`);
    assert.deepEqual(layout.leftovers(), [], `${when}: leftovers after the next run`);
    assert.equal(currentVersion(`${when}, then a normal run`), n === 0 ? 'A' : 'B');
    everDeployed = true;
    // Follow the machine's load: the next window is this full run's span (first to last log
    // line) plus a margin, so kills keep landing inside updates on a busy host too.
    const span = Date.parse(String(settle.logs.at(-1)?.time)) - Date.parse(String(settle.logs[0]?.time));
    if (span > 0 && settle.logs.some((l) => l.msg === 'deployed')) windowMs = Math.ceil(span * 1.2);
  }
  t.diagnostic(`where kills landed: ${JSON.stringify(Object.fromEntries(lastSteps))}`);
  const status = await layout.status(remote);
  assert.equal(status.interrupted, undefined);
  assert.equal(status.current?.status, 'good');
  assert.ok(midUpdate >= 1, 'no kill landed in the middle of an update: the window is wrong');
});

function sameTree(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(b);
  return Object.keys(a).length === keys.length && keys.every((k) => a[k] === b[k]);
}

/** The last thing a killed run logged, as a coarse step name. */
function lastStep(logs: readonly LogLine[], code: number | null): string {
  if (code !== null) return 'finished';
  return logs.at(-1)?.msg ?? 'not started';
}
