// One agent of a test fleet, run as its own process by the fleet tests: connects to etcd, takes
// a rollout slot, appends `start`/`end` lines with timestamps to a file, holds the slot for a
// while and releases it. With holdMs < 0 it holds until killed (the kill -9 test). With
// mode = report it only registers itself as an agent, prints `reported` and waits to be killed.
// Usage: node --import tsx contender.ts '<json options>'
import { appendFileSync } from 'node:fs';
import { Fleet } from '../../src/fleet/index.js';
import { createLogger } from '../../src/log.js';
import type { ContenderOptions } from './spawn-contender.js';


const options = JSON.parse(process.argv[2]!) as ContenderOptions;
const logger = createLogger();
const fleet = await Fleet.connect(
  {
    endpoints: [options.endpoint],
    group: options.group,
    maxParallel: options.maxParallel,
    leaseTtlMs: options.leaseTtlMs,
    agentId: options.agentId,
    unavailable: 'wait',
  },
  logger,
);
const record = (event: string) => appendFileSync(options.recordFile, `${event} ${options.agentId} ${Date.now()}\n`);

if (options.mode === 'report') {
  await fleet.report({ version: options.version, lastCheckAt: new Date().toISOString(), result: 'deployed' });
  process.stdout.write('reported\n');
  await new Promise(() => setInterval(() => {}, 60_000));
}

try {
  record('waiting');
  const slot = await fleet.acquireSlot(options.version, options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs });
  // Recorded inside the held interval on both ends, so recorded overlaps never exceed real ones.
  record('start');
  process.stdout.write(`taken ${slot.index}\n`);
  if (options.holdMs < 0) await new Promise(() => setInterval(() => {}, 60_000));
  await new Promise((resolve) => setTimeout(resolve, options.holdMs));
  record('end');
  await slot.release();
  await fleet.close();
} catch (error) {
  record(`error:${(error as Error).name}`);
  process.stderr.write(`${(error as Error).message}\n`);
  await fleet.close().catch(() => {});
  process.exitCode = 3;
}
