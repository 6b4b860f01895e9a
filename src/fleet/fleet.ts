import type { Etcd3 } from 'etcd3';
import type { Logger } from '../log.js';
import { RepoDeployError } from '../errors.js';
import { createEtcdClient } from './client.js';
import { FleetUnavailableError, SlotTimeoutError, VersionQuarantinedError, etcdFailureReason } from './errors.js';
import { agentKey } from './keys.js';
import { LeaseKeeper } from './lease-keeper.js';
import { clearQuarantine, readQuarantine, readStatus, writeQuarantine } from './records.js';
import { delay, slotHandle, tryTakeSlot, watchSlotReleases } from './slots.js';
import { minLeaseTtlMs, type AcquireOptions, type AgentRecord, type FleetConfig, type FleetStatus, type QuarantineRecord, type Slot } from './types.js';

/** Whether etcd answered the last request, for `status` and `/healthz`. */
export interface FleetHealth {
  /** true: the last request succeeded; false: it failed; null: nothing asked yet. */
  reachable: boolean | null;
  /** Message of the last failure, while unreachable. */
  lastError?: string;
  /** ISO time `reachable` last changed. */
  since?: string;
}

/**
 * An agent's membership of one rollout group in etcd: it registers itself under a
 * lease, takes one of `max-parallel` slots around the swap, and records and honours quarantined
 * versions. Every etcd failure surfaces as `FleetUnavailableError`; `EtcdCoordinator` decides
 * from `rollout-unavailable` whether to skip the update or deploy uncoordinated.
 */
export class Fleet {
  private readonly lease: LeaseKeeper;
  private state: FleetHealth = { reachable: null };

  private constructor(
    private readonly client: Etcd3,
    /** The settings this fleet was connected with. */
    readonly config: FleetConfig,
    private readonly logger: Logger,
  ) {
    const ttlSeconds = Math.ceil(Math.max(config.leaseTtlMs, minLeaseTtlMs) / 1000);
    this.lease = new LeaseKeeper(client, ttlSeconds, logger);
  }

  /**
   * Creates the client. Does not wait for etcd: an agent must start (and keep serving its
   * current release) while etcd is down; the first call that needs etcd reports it. Throws
   * `ConfigError` only for unreadable TLS files.
   */
  static async connect(config: FleetConfig, logger: Logger): Promise<Fleet> {
    const child = logger.child({ rolloutGroup: config.group });
    return new Fleet(createEtcdClient(config), config, child);
  }

  /** Whether etcd answered the last request. */
  health(): FleetHealth {
    return { ...this.state };
  }

  /** Registers or refreshes this agent under its lease: current version, last check time. */
  async report(agent: { version?: string; release?: string; lastCheckAt: string; result: string }): Promise<void> {
    const record: AgentRecord = { id: this.config.agentId, ...agent, updatedAt: new Date().toISOString() };
    await this.call('registering this agent', async () => {
      const { id } = await this.lease.current();
      await this.client.put(agentKey(this.config.group, this.config.agentId)).value(JSON.stringify(record)).lease(id);
    });
  }

  /** Why `version` must not be deployed (who reverted it, when, why), or null. */
  quarantined(version: string): Promise<QuarantineRecord | null> {
    return this.call('reading quarantined versions', () => readQuarantine(this.client, this.config.group, version));
  }

  /**
   * Records `version` as bad. The first record wins, so the host and reason shown are those of
   * the first revert; returns the record in effect.
   */
  async quarantine(version: string, reason: string): Promise<QuarantineRecord> {
    const record: QuarantineRecord = { version, host: this.config.agentId, time: new Date().toISOString(), reason };
    const stored = await this.call('quarantining a version', () => writeQuarantine(this.client, this.config.group, record));
    this.logger.warn({ version, reason, quarantinedBy: stored.host }, 'version quarantined for the rollout group');
    return stored;
  }

  /** Lifts the quarantine of `version`; false if it was not quarantined. */
  clear(version: string): Promise<boolean> {
    return this.call('clearing a quarantine', () => clearQuarantine(this.client, this.config.group, version));
  }

  /** Agents alive, quarantined versions and held slots of the group. */
  status(): Promise<FleetStatus> {
    return this.call('reading the rollout group', () => readStatus(this.client, this.config.group));
  }

  /**
   * Takes one of `max-parallel` slots to roll out `version`, waiting (woken by a watch on slot
   * releases, polling as a fallback) until one is free. Rejects with `SlotTimeoutError` when
   * `deadlineMs` passes, the signal's reason when aborted, `FleetUnavailableError` when etcd
   * stops answering, and `VersionQuarantinedError` if the version was quarantined meanwhile
   * (checked after the slot is taken, so the check and the slot cannot race).
   */
  async acquireSlot(version: string, opts: AcquireOptions = {}): Promise<Slot> {
    const started = Date.now();
    const deadline = opts.deadlineMs === undefined ? Infinity : started + opts.deadlineMs;
    // Polling only backs up the watch (a reconnecting watch can miss a release); a third of the
    // TTL, within 1-5 s, keeps waiting hosts' reads modest while bounding a missed wake-up.
    const pollMs = Math.min(5_000, Math.max(1_000, this.config.leaseTtlMs / 3));
    const watch = watchSlotReleases(this.client, this.config.group);
    let waiting = false;
    try {
      for (;;) {
        opts.signal?.throwIfAborted();
        const taken = await this.call('taking a rollout slot', () => tryTakeSlot(this.client, this.lease, this.config, version));
        if (taken) {
          const slot = slotHandle(this.client, taken, this.logger);
          const bad = await this.quarantined(version).catch(async (error: unknown) => {
            await slot.release().catch(() => {});
            throw error;
          });
          if (bad) {
            await slot.release().catch(() => {});
            throw new VersionQuarantinedError(bad);
          }
          this.logger.info({ version, slot: taken.index, waitedMs: Date.now() - started }, 'rollout slot taken');
          return slot;
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new SlotTimeoutError(this.config.group, this.config.maxParallel, Date.now() - started);
        if (!waiting) {
          waiting = true;
          this.logger.info({ version, maxParallel: this.config.maxParallel }, 'waiting for a rollout slot');
        }
        // A small random pause after a wake-up spreads the hosts that saw the same release.
        const jitterMs = Math.random() * Math.min(500, this.config.leaseTtlMs / 10);
        await waitFor(Math.min(pollMs, remaining), watch.next().then(() => delay(jitterMs)), opts.signal);
      }
    } finally {
      await watch.stop();
    }
  }

  /** Revokes the lease (this agent leaves the group, its slot is freed) and closes the client. */
  async close(): Promise<void> {
    await this.lease.revoke();
    this.client.close();
  }

  /** Runs one etcd operation, turning any etcd failure into `FleetUnavailableError`. */
  private async call<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      const result = await operation();
      this.mark(true);
      return result;
    } catch (error) {
      if (error instanceof RepoDeployError) throw error;
      this.mark(false, etcdFailureReason(error));
      throw new FleetUnavailableError(this.config.endpoints, what, { cause: error });
    }
  }

  private mark(reachable: boolean, lastError?: string): void {
    if (this.state.reachable !== reachable) {
      if (reachable && this.state.reachable === false) this.logger.info('etcd reachable again');
      if (!reachable) this.logger.error({ endpoints: this.config.endpoints, err: lastError }, 'etcd unreachable: rollouts of this group cannot be coordinated');
      this.state = { reachable, since: new Date().toISOString() };
    }
    if (lastError) this.state.lastError = lastError;
    else delete this.state.lastError;
  }
}

/** Resolves after `ms`, or when `wake` resolves; rejects when `signal` aborts. Leaves no timer. */
function waitFor(ms: number, wake: Promise<void>, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    void wake.then(done);
  });
}
