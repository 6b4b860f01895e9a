// The wave arithmetic of `rollout-waves`: parsing, cumulative limits over the registered agents
// (percentages rounded up), which wave is open and whether it admits another host, and the
// predicted rollout time used by the fleet bench and the README.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatWaves, parseWaves, predictRolloutSeconds, waveLimits, wavePosition } from '../../src/fleet/waves.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testdir } from '../support/tmp.js';

test('parseWaves: counts and percentages, comma-separated; anything else says what is accepted', () => {
  assert.deepEqual(parseWaves('1, 10%, 100%'), [{ count: 1 }, { percent: 10 }, { percent: 100 }]);
  assert.deepEqual(parseWaves('100%'), [{ percent: 100 }]);
  assert.deepEqual(parseWaves(' 5 ,12.5%'), [{ count: 5 }, { percent: 12.5 }]);
  for (const bad of ['', '1,,2', 'ten', '0', '1.5', '0%', '101%', '-1', '10 %x']) {
    const parsed = parseWaves(bad);
    assert.ok(!Array.isArray(parsed), `${JSON.stringify(bad)} is refused`);
    assert.match(parsed.error, /count|percentage/);
  }
  assert.equal(formatWaves([{ count: 1 }, { percent: 10 }, { percent: 100 }]), '1, 10%, 100%');
});

test('waveLimits: cumulative, percentages of the registered agents rounded up, never shrinking, last unbounded', () => {
  assert.deepEqual(waveLimits([{ count: 1 }, { percent: 10 }, { percent: 100 }], 500), [1, 50, Infinity]);
  assert.deepEqual(waveLimits([{ count: 1 }, { percent: 10 }, { percent: 100 }], 7), [1, 1, Infinity], '10% of 7 rounds up to 1');
  assert.deepEqual(waveLimits([{ count: 1 }, { percent: 10 }, { percent: 100 }], 11), [1, 2, Infinity]);
  assert.deepEqual(waveLimits([{ percent: 10 }, { percent: 100 }], 0), [1, Infinity], 'a wave holds at least one host');
  assert.deepEqual(waveLimits([{ count: 10 }, { count: 3 }, { percent: 100 }], 100), [10, 10, Infinity], 'a smaller later wave is as big as the one before');
  assert.deepEqual(waveLimits([{ count: 2 }, { percent: 50 }], 10), [2, Infinity], 'the last wave takes every host');
  assert.deepEqual(waveLimits([{ percent: 100 }], 3), [Infinity], 'the default: one wave, today');
  assert.deepEqual(waveLimits([{ percent: 30 }, { percent: 100 }], 10), [3, Infinity], '30% of 10 is exactly 3');
});

test('wavePosition: the open wave is the first not fully confirmed; it admits while below its limit', () => {
  const steps = [{ count: 1 }, { percent: 10 }, { percent: 100 }];
  assert.deepEqual(wavePosition(steps, 500, 0, 0), { wave: 0, waves: 3, limit: 1, admits: true });
  assert.deepEqual(wavePosition(steps, 500, 1, 0), { wave: 0, waves: 3, limit: 1, admits: false }, 'the canary is in flight');
  assert.deepEqual(wavePosition(steps, 500, 1, 1), { wave: 1, waves: 3, limit: 50, admits: true }, 'the canary confirmed');
  assert.deepEqual(wavePosition(steps, 500, 50, 49), { wave: 1, waves: 3, limit: 50, admits: false }, 'one host of wave 2 still in flight');
  assert.deepEqual(wavePosition(steps, 500, 50, 50), { wave: 2, waves: 3, limit: Infinity, admits: true });
  assert.equal(wavePosition(steps, 500, 600, 10).admits, false, 'more hosts than registered still wait for their wave');
  assert.equal(wavePosition([{ percent: 100 }], 3, 10, 0).admits, true, 'one wave: only max-parallel bounds hosts');
  assert.equal(wavePosition([{ count: 1 }, { percent: 100 }], 3, 1, 0).admits, false, '1, 100%: the others wait for the first');
});

test('predictRolloutSeconds: rounds of max-parallel per wave, times one update and the wake-up', () => {
  const steps = [{ count: 1 }, { percent: 10 }, { percent: 100 }];
  // 500 hosts: 1 host, then 49 (2 rounds of 25), then 450 (18 rounds): 21 rounds.
  assert.equal(predictRolloutSeconds(steps, 500, 25, { updateSeconds: 1, wakeSeconds: 0 }), 21);
  assert.equal(predictRolloutSeconds(steps, 500, 25, { updateSeconds: 1, wakeSeconds: 0.5 }), 31.5);
  assert.equal(predictRolloutSeconds([{ percent: 100 }], 10_000, 50, { updateSeconds: 60, wakeSeconds: 0 }), 200 * 60);
  assert.equal(predictRolloutSeconds([{ count: 1 }, { percent: 100 }], 3, 3, { updateSeconds: 1, wakeSeconds: 0 }), 2);
});

test('rollout-waves in a config file: parsed into the app fleet settings; a bad value names the key', () => {
  const dir = testdir();
  const file = join(dir, 'repo-deploy.cfg');
  writeFileSync(file, `remote = ${dir}\nlocal = ${join(dir, 'app', 'current')}\netcd = http://127.0.0.1:2379\nrollout-waves = 1, 10%, 100%\n`);
  const { apps } = loadConfig({ configFile: file, flags: {} });
  assert.deepEqual(apps[0]!.rollout!.waves, [{ count: 1 }, { percent: 10 }, { percent: 100 }]);
  writeFileSync(file, `remote = ${dir}\nlocal = ${join(dir, 'app', 'current')}\netcd = http://127.0.0.1:2379\nrollout-waves = 1, ten%\n`);
  assert.throws(
    () => loadConfig({ configFile: file, flags: {} }),
    (error: unknown) => error instanceof ConfigError && /rollout-waves/.test(error.message) && /ten%/.test(error.message),
  );
});
