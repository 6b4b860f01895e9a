// The fleet at scale (`npm run bench -- --only fleet`): 500 simulated agents in this one
// process, through the library against a real etcd (Debian's etcd-server, as the tests run
// it), with `rollout-waves = 1, 10%, 100%`, `max-parallel = 25` and a one-second post-update
// hook simulated as a 1 s sleep between admission and settling (real hook processes for 500
// agents would measure this machine's fork rate, not the coordination). It measures etcd
// writes of the idle fleet, a good rollout against the README's formula, and a version that
// fails validation on its first host.
import { Etcd3 } from 'etcd3';
import type { FleetConfig } from '../src/fleet/index.js';
import { predictRolloutSeconds, type WaveStep } from '../src/fleet/waves.js';
import { silentLogger } from '../src/log.js';
import { startEtcd, type TestEtcd } from '../test/support/etcd.js';
import { SimAgent, type SimWorld } from './fleet-sim.js';
import { progress, round, sleep } from './lib.js';

/** Options of the fleet workload. */
export interface FleetBenchOptions {
  /** Shorter idle window. */
  quick: boolean;
  /** Simulated agents (default 500). */
  agents?: number;
}

const waves: WaveStep[] = [{ count: 1 }, { percent: 10 }, { percent: 100 }];
const maxParallel = 25;
const hookMs = 1_000;
const checkEveryMs = 5_000;
/** Agents share etcd clients (gRPC connections) in groups of this many. */
const agentsPerClient = 50;

/** Runs the workload; figures named as in the README's bench table. */
export async function benchFleet(options: FleetBenchOptions): Promise<Record<string, number>> {
  const count = options.agents ?? 500;
  const etcd = await startEtcd({ stopWhenTestsEnd: false });
  const clients: Etcd3[] = [];
  const agents: SimAgent[] = [];
  try {
    const world: SimWorld = { version: 'v1', bad: new Set(['v3']), hookMs, inFlight: 0, maxInFlight: 0, ran: new Map(), failedAt: new Map(), running: new Map() };
    const config: Omit<FleetConfig, 'agentId'> = { endpoints: [etcd.endpoint], group: 'bench', maxParallel, leaseTtlMs: 15_000, unavailable: 'wait', waves };
    for (let n = 0; n < count; n++) {
      if (n % agentsPerClient === 0) clients.push(new Etcd3({ hosts: etcd.endpoint }));
      agents.push(await SimAgent.create(`host-${n + 1}`, { ...config, agentId: `host-${n + 1}` }, clients.at(-1)!, world, checkEveryMs, silentLogger()));
    }
    await Promise.all(agents.map((a) => a.register()));
    progress(`fleet: ${count} agents registered; idle checks every ${checkEveryMs / 1000} s`);
    for (const agent of agents) agent.start();
    const idle = await idleWrites(etcd, count, options.quick ? 10_000 : 30_000);

    const started = Date.now();
    world.version = 'v2';
    await until(() => world.running.get('v2')?.size === count, 600_000, 'every agent on v2', () => `${world.running.get('v2')?.size ?? 0} on v2, ${world.inFlight} in flight`);
    const rolloutSeconds = (Date.now() - started) / 1000;
    progress(`fleet: v2 on ${count} agents in ${rolloutSeconds.toFixed(1)} s, at most ${world.maxInFlight} in flight`);

    world.version = 'v3';
    await until(() => world.failedAt.has('v3') && (world.running.get('v3')?.size ?? 0) === 0, 120_000, 'v3 failed and left');
    const rollbackSeconds = (Date.now() - world.failedAt.get('v3')!) / 1000;
    // Hosts still checking must keep refusing it: give them a few check intervals to try.
    await sleep(3 * checkEveryMs);
    const badHosts = world.ran.get('v3')?.size ?? 0;
    progress(`fleet: v3 ran on ${badHosts} host(s), all back ${rollbackSeconds.toFixed(1)} s after its validation failed`);
    return {
      fleet_agents: count,
      fleet_rollout_seconds: round(rolloutSeconds),
      fleet_rollout_predicted_seconds: round(predicted(count)),
      fleet_max_in_flight: world.maxInFlight,
      fleet_bad_version_hosts: badHosts,
      fleet_rollback_seconds: round(rollbackSeconds),
      fleet_etcd_writes_per_agent_minute_idle: round(idle),
    };
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    for (const client of clients) client.close();
    await etcd.dispose();
  }
}

/**
 * The README's formula: one check interval for the last host to notice the new version, then
 * per wave as many rounds as `max-parallel` needs for its new hosts, each round one update
 * (post-update hooks, bake; 1 s here).
 */
function predicted(hosts: number): number {
  return checkEveryMs / 1000 + predictRolloutSeconds(waves, hosts, maxParallel, { updateSeconds: hookMs / 1000, wakeSeconds: 0 });
}

/** etcd writes (new revisions) per agent per minute while every agent checks an unchanged remote. */
async function idleWrites(etcd: TestEtcd, agents: number, windowMs: number): Promise<number> {
  const client = new Etcd3({ hosts: etcd.endpoint });
  try {
    const revision = async () => Number((await client.get('/none').exec()).header.revision);
    // The first checks of each agent fall within one interval; start counting after them.
    await sleep(checkEveryMs * 1.5);
    const before = await revision();
    const began = Date.now();
    await sleep(windowMs);
    const writes = (await revision()) - before;
    const minutes = (Date.now() - began) / 60_000;
    progress(`fleet: ${writes} etcd writes by ${agents} idle agents in ${(minutes * 60).toFixed(0)} s (${((minutes * 60_000) / checkEveryMs).toFixed(0)} checks each)`);
    return writes / agents / minutes;
  } finally {
    client.close();
  }
}

async function until(test: () => boolean, timeoutMs: number, what: string, state = () => ''): Promise<void> {
  const began = Date.now();
  let said = began;
  while (!test()) {
    if (Date.now() - began > timeoutMs) throw new Error(`fleet bench: timed out after ${timeoutMs / 1000} s waiting for ${what} (${state()})`);
    if (Date.now() - said >= 10_000) {
      said = Date.now();
      progress(`fleet: ${Math.round((said - began) / 1000)} s: ${state()}`);
    }
    await sleep(50);
  }
}
