import type { Etcd3 } from 'etcd3';
import type { Logger } from '../log.js';
import { RepoDeployError } from '../errors.js';
import { createEtcdClient } from './client.js';
import { admit } from './admission.js';
import { FleetUnavailableError, etcdFailureReason } from './errors.js';
import { pruneAgents } from './group-status.js';
import { LeaseKeeper } from './lease-keeper.js';
import { clearQuarantine, deletePause, readPause, readQuarantine, readStatus, writePause, writeQuarantine } from './records.js';
import { Reporter } from './reporter.js';
import type { PauseRecord } from './rollout-types.js';
import { settleHost } from './rollouts.js';
import { fleetDefaults, minLeaseTtlMs, type AcquireOptions, type AgentRecord, type FleetConfig, type FleetStatus, type QuarantineRecord, type Slot } from './types.js';

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
  private readonly reporter: Reporter;
  private state: FleetHealth = { reachable: null };

  private constructor(
    private readonly client: Etcd3,
    /** The settings this fleet was connected with. */
    readonly config: FleetConfig,
    private readonly logger: Logger,
    private readonly ownsClient: boolean,
  ) {
    const ttlSeconds = Math.ceil(Math.max(config.leaseTtlMs, minLeaseTtlMs) / 1000);
    this.lease = new LeaseKeeper(client, ttlSeconds, logger);
    this.reporter = new Reporter(client, config.group, config.agentId, config.reportEveryMs ?? fleetDefaults.reportEveryMs);
  }

  /**
   * Creates the client. Does not wait for etcd: an agent must start (and keep serving its
   * current release) while etcd is down; the first call that needs etcd reports it. Throws
   * `ConfigError` only for unreadable TLS files. `client`: an etcd client to share between
   * agents (many simulated agents in one process); `close` leaves it open.
   */
  static async connect(config: FleetConfig, logger: Logger, client?: Etcd3): Promise<Fleet> {
    const child = logger.child({ rolloutGroup: config.group });
    return new Fleet(client ?? createEtcdClient(config), config, child, client === undefined);
  }

  /** Whether etcd answered the last request. */
  health(): FleetHealth {
    return { ...this.state };
  }

  /**
   * Registers or refreshes this agent's record: current version, last check. Written only when
   * something changed or every `reportEveryMs` (see `Reporter`); true if it wrote.
   */
  async report(agent: Omit<AgentRecord, 'id' | 'updatedAt'>): Promise<boolean> {
    const record: AgentRecord = { id: this.config.agentId, ...agent, updatedAt: new Date().toISOString() };
    return this.call('registering this agent', () => this.reporter.report(record));
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
  async status(): Promise<FleetStatus> {
    const retentionMs = this.config.agentRetentionMs ?? fleetDefaults.agentRetentionMs;
    return this.call('reading the rollout group', async () => {
      await pruneAgents(this.client, this.config.group, retentionMs);
      return readStatus(this.client, this.config.group, this.config.maxParallel);
    });
  }

  /**
   * Admits this host to `version`'s rollout and takes one of `max-parallel` slots for it,
   * waiting (woken by watches, polling as a fallback) until its wave is open and a slot free.
   * Rejects with `SlotTimeoutError` (`WaveTimeoutError` while the wave was closed) when
   * `deadlineMs` passes, the signal's reason when aborted, `FleetUnavailableError` when etcd
   * stops answering, `FleetPausedError` while the group is paused, and
   * `VersionQuarantinedError` if the version was quarantined meanwhile (checked again after
   * the slot is taken, so the check and the slot cannot race).
   */
  acquireSlot(version: string, opts: AcquireOptions = {}): Promise<Slot> {
    return admit({ client: this.client, lease: this.lease, config: this.config, logger: this.logger, call: (what, op) => this.call(what, op) }, version, opts);
  }

  /**
   * Records how this host's update of `version` settled (after any bake): confirmed, which may
   * open the next wave, or failed. Call before giving the slot back.
   */
  settle(version: string, ok: boolean): Promise<void> {
    return this.call('recording the rollout outcome', () => settleHost(this.client, this.config.group, version, this.config.agentId, ok));
  }

  /** Pauses the group: no host starts a new version until `resume`. Returns the record in effect. */
  pause(): Promise<PauseRecord> {
    const record: PauseRecord = { by: this.config.agentId, time: new Date().toISOString() };
    return this.call('pausing the rollout group', () => writePause(this.client, this.config.group, record));
  }

  /** Lifts the pause; false if the group was not paused. */
  resume(): Promise<boolean> {
    return this.call('resuming the rollout group', () => deletePause(this.client, this.config.group));
  }

  /** Who paused the group and when, or null. */
  paused(): Promise<PauseRecord | null> {
    return this.call('reading the pause of the rollout group', () => readPause(this.client, this.config.group));
  }

  /** Revokes the lease (this agent leaves the group, its slot is freed) and closes the client. */
  async close(): Promise<void> {
    await this.lease.revoke();
    if (this.ownsClient) this.client.close();
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
