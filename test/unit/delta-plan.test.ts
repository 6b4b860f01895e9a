import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCentralDirectory } from '../../src/extract/central-directory.js';
import { planDelta } from '../../src/delta/plan.js';
import { testdir } from '../support/tmp.js';
import { baseTree, zipOfTree, type Tree } from '../remotes/delta-fixtures.js';

// The delta plan on real zips: what is copied, what is fetched, and when fetches are joined.

async function plan(before: Tree, after: Tree) {
  const dir = testdir();
  const [a, b] = [join(dir, 'a.zip'), join(dir, 'b.zip')];
  writeFileSync(a, await zipOfTree(before));
  const next = await zipOfTree(after);
  writeFileSync(b, next);
  const [fa, fb] = [openSync(a, 'r'), openSync(b, 'r')];
  try {
    const cdA = readCentralDirectory(fa, a, 1000);
    const cdB = readCentralDirectory(fb, b, 1000);
    return { result: planDelta(cdA, fa, cdB, fb), dataEnd: cdB.dataEnd };
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

const edit = (tree: Tree, ...names: string[]): Tree => {
  const copy = structuredClone(tree);
  for (const name of names) copy[name] = { content: `edited ${name}\n`.repeat(500) };
  return copy;
};

test('delta plan: identical archives copy everything and fetch nothing', async () => {
  const { result, dataEnd } = await plan(baseTree(), baseTree());
  assert.deepEqual(result.fetch, []);
  assert.equal(result.fetchedEntries.length, 0);
  assert.equal(result.copy.reduce((n, c) => n + c.length, 0), dataEnd);
  assert.equal(result.copy.length, 1, 'contiguous copies are one');
});

test('delta plan: one changed entry is one fetched range; fetch and copy cover the data exactly', async () => {
  const { result, dataEnd } = await plan(baseTree(), edit(baseTree(), 'd1/f05.txt'));
  assert.deepEqual(result.fetchedEntries.map((e) => e.name), ['d1/f05.txt']);
  assert.equal(result.fetch.length, 1);
  const covered = [...result.fetch.map((r) => [r.start, r.end]), ...result.copy.map((c) => [c.to, c.to + c.length])].sort((x, y) => x[0]! - y[0]!);
  let at = 0;
  for (const [start, end] of covered) {
    assert.equal(start, at, 'a gap or an overlap in the plan');
    at = end!;
  }
  assert.equal(at, dataEnd);
});

test('delta plan: changed entries with less than the gap between them are fetched as one range', async () => {
  // In name order d0/f00, d0/f04, d0/f08: one unchanged 8 KiB entry between the two changes.
  const near = await plan(baseTree(), edit(baseTree(), 'd0/f00.txt', 'd0/f08.txt'));
  assert.equal(near.result.fetchedEntries.length, 2);
  assert.equal(near.result.fetch.length, 1);
  const far = await plan(baseTree(), edit(baseTree(), 'd0/f00.txt', 'd3/f59.txt'));
  assert.equal(far.result.fetch.length, 2);
});

test('delta plan: a mode change copies the entry (the mode lives in the central directory only)', async () => {
  const after = structuredClone(baseTree());
  after['d1/f09.txt'] = { ...(after['d1/f09.txt'] as { content: string }), mode: 0o755 };
  const { result } = await plan(baseTree(), after);
  assert.deepEqual(result.fetch, []);
  assert.equal(result.reusedEntries, Object.keys(after).length);
});
