// One simulated agent of the fleet bench: the fleet calls a real agent makes around a deploy,
// through the library (`EtcdCoordinator.admit` and `settle`, `Fleet.report`, `quarantined`) against a real
// etcd, with the hooks simulated by sleeps: a post-update hook is `hookMs` between admission
// and settling, a revert re-runs it, and validation after the hooks fails for a bad version.
import type { Etcd3 } from 'etcd3';
import { EtcdCoordinator, Fleet, type FleetConfig } from '../src/fleet/index.js';
import type { Logger } from '../src/log.js';
import { sleep } from './lib.js';

/** The remote every simulated agent polls, and what the bench observes of the agents. */
export interface SimWorld {
  /** The version the remote serves now. */
  version: string;
  /** Versions whose validation fails right after their post-update hooks. */
  bad: Set<string>;
  /** Simulated hook time (ms): the post-update hook, and again for a revert. */
  hookMs: number;
  /** Hosts between admission and settling now, and the most seen at once. */
  inFlight: number;
  maxInFlight: number;
  /** Per version, the hosts that ever ran it (swapped to it). */
  ran: Map<string, Set<string>>;
  /** When the first validation failure of each bad version happened (epoch ms). */
  failedAt: Map<string, number>;
  /** Hosts whose `current` is each version now. */
  running: Map<string, Set<string>>;
}

/** A simulated agent: a daemon-like loop of checks every `checkEveryMs`. */
export class SimAgent {
  private deployed: string;
  private previous: string | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;

  private constructor(
    readonly id: string,
    private readonly fleet: Fleet,
    private readonly world: SimWorld,
    private readonly checkEveryMs: number,
    private readonly logger: Logger,
  ) {
    this.deployed = world.version;
    move(world, id, null, this.deployed);
  }

  /** An agent sharing `client` with others, already on the remote's current version. */
  static async create(id: string, config: FleetConfig, client: Etcd3, world: SimWorld, checkEveryMs: number, logger: Logger): Promise<SimAgent> {
    const fleet = await Fleet.connect(config, logger, client);
    return new SimAgent(id, fleet, world, checkEveryMs, logger);
  }

  /** Registers the agent (its first check's report). */
  register(): Promise<boolean> {
    return this.fleet.report({ version: this.deployed, lastCheckAt: new Date().toISOString(), result: 'up-to-date' });
  }

  /** Starts checking, at a random phase of the interval (as with `splay`). */
  start(): void {
    this.loop = (async () => {
      await sleep(Math.random() * this.checkEveryMs);
      while (!this.stopped) {
        await this.check().catch((error: unknown) => this.logger.warn({ agent: this.id, err: String(error) }, 'simulated check failed'));
        await sleep(this.checkEveryMs);
      }
    })();
  }

  /** Stops the loop after the check in progress and closes the fleet (not the shared client). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.fleet.close().catch(() => {});
  }

  /** One check: roll back from a quarantined version, or deploy the remote's new one. */
  private async check(): Promise<void> {
    const { world } = this;
    const bad = await this.fleet.quarantined(this.deployed);
    if (bad && this.previous) {
      // The fleet rollback: the release the quarantined one replaced, post hooks re-run.
      await sleep(world.hookMs);
      const left = this.deployed;
      this.swap(this.previous, null);
      await this.report('rolled-back', { version: left, by: bad.host, reason: bad.reason, at: new Date().toISOString() });
      return;
    }
    const target = world.version;
    if (target === this.deployed) return void (await this.report('up-to-date'));
    if (await this.fleet.quarantined(target)) return void (await this.report('quarantined'));
    const coordinator = new EtcdCoordinator(this.fleet, 600_000, this.logger);
    const decision = await coordinator.admit(target);
    if (decision.verdict !== 'go') return void (await this.report(decision.verdict));
    world.inFlight++;
    world.maxInFlight = Math.max(world.maxInFlight, world.inFlight);
    const before = this.deployed;
    this.swap(target, before);
    (world.ran.get(target) ?? world.ran.set(target, new Set()).get(target)!).add(this.id);
    await sleep(world.hookMs);
    const ok = !world.bad.has(target);
    if (!ok) {
      if (!world.failedAt.has(target)) world.failedAt.set(target, Date.now());
      await sleep(world.hookMs); // the revert's post-update hooks
      this.swap(before, null);
    }
    await coordinator.settle(target, decision.slot, ok ? { ok: true } : { ok: false, reason: 'validate.d/10-health exited with 1' });
    world.inFlight--;
    await this.report(ok ? 'deployed' : 'reverted');
  }

  private swap(to: string, previous: string | null): void {
    move(this.world, this.id, this.deployed, to);
    this.deployed = to;
    this.previous = previous;
  }

  private report(result: string, rolledBack?: { version: string; by: string; reason: string; at: string }): Promise<boolean> {
    return this.fleet.report({ version: this.deployed, lastCheckAt: new Date().toISOString(), result, ...(rolledBack ? { rolledBack } : {}) });
  }
}

function move(world: SimWorld, id: string, from: string | null, to: string): void {
  if (from !== null) world.running.get(from)?.delete(id);
  (world.running.get(to) ?? world.running.set(to, new Set()).get(to)!).add(id);
}
