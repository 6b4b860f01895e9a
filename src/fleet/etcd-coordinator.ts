import { messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import type { Admission, AdmitOptions, AgentReport, Coordinator, Settlement } from './coordinator.js';
import { FleetPausedError, FleetUnavailableError, SlotTimeoutError, VersionQuarantinedError } from './errors.js';
import type { Fleet } from './fleet.js';
import type { QuarantineRecord, Slot } from './types.js';

/**
 * Fleet coordination through etcd: turns every fleet error into an `Admission`, and applies
 * `rollout-unavailable` (in `unreachable`, its only place).
 */
export class EtcdCoordinator implements Coordinator {
  constructor(
    private readonly fleet: Fleet,
    /** `rollout-wait`: longest wait for a slot; undefined waits without bound. */
    private readonly waitMs: number | undefined,
    private readonly logger: Logger,
  ) {}

  async screen(version: string): Promise<Admission> {
    try {
      const paused = await this.fleet.paused();
      if (paused) return this.paused(new FleetPausedError(this.fleet.config.group, paused), version);
      const record = await this.fleet.quarantined(version);
      return record ? this.quarantined(new VersionQuarantinedError(record)) : { verdict: 'go', slot: null };
    } catch (error) {
      return this.unreachable(error, version);
    }
  }

  async quarantineOf(version: string): Promise<QuarantineRecord | null> {
    try {
      return await this.fleet.quarantined(version);
    } catch (error) {
      // The host keeps serving what it has; errors that are not etcd's are bugs.
      if (!(error instanceof FleetUnavailableError)) throw error;
      this.logger.debug({ version, err: error.message }, 'etcd unreachable: cannot tell whether the current version is quarantined');
      return null;
    }
  }

  async admit(version: string, options: AdmitOptions = {}): Promise<Admission> {
    try {
      const acquire = { ...(options.signal ? { signal: options.signal } : {}), ...(this.waitMs !== undefined ? { deadlineMs: this.waitMs } : {}) };
      return { verdict: 'go', slot: await this.fleet.acquireSlot(version, acquire) };
    } catch (error) {
      if (options.signal?.aborted) return { verdict: 'stopped' };
      // Quarantined by another host while this one waited for its slot.
      if (error instanceof VersionQuarantinedError) return this.quarantined(error);
      if (error instanceof FleetPausedError) return this.paused(error, version);
      if (error instanceof SlotTimeoutError) return { verdict: 'busy', error };
      return this.unreachable(error, version);
    }
  }

  async settle(version: string, slot: Slot | null, outcome: Settlement): Promise<void> {
    // Quarantine before releasing, so the next host to take the slot already sees the record.
    if (outcome.ok === false) {
      await this.fleet.quarantine(version, outcome.reason).catch((error: unknown) =>
        this.logger.error({ version, err: messageOf(error) }, 'could not quarantine the reverted version; other hosts may try it'),
      );
    }
    // Confirmed (or failed) before the slot goes: a confirmation may open the next wave. Also
    // without a slot: a bake finished by recovery confirms the host's place in its wave.
    if (outcome.ok !== null) {
      await this.fleet.settle(version, outcome.ok).catch((error: unknown) =>
        this.logger.warn({ version, err: messageOf(error) }, 'could not record the rollout outcome; the open wave waits for it'),
      );
    }
    if (!slot) return;
    if (slot.lost.aborted) this.logger.error({ version, slot: slot.index }, 'rollout slot was lost during the update: another host may have rolled out at the same time');
    await slot.release().catch((error: unknown) =>
      this.logger.warn({ version, err: messageOf(error) }, 'could not release the rollout slot; it frees itself when the lease expires'),
    );
  }

  async report(agent: AgentReport): Promise<void> {
    try {
      await this.fleet.report(agent);
    } catch (error) {
      this.logger.warn({ err: messageOf(error) }, 'could not report to the fleet');
    }
  }

  close(): Promise<void> {
    return this.fleet.close();
  }

  private paused(error: FleetPausedError, version: string): Admission {
    this.logger.info({ version, pausedBy: error.record.by, pausedAt: error.record.time }, 'rollout group paused: not starting the new version');
    return { verdict: 'paused', error };
  }

  private quarantined(error: VersionQuarantinedError): Admission {
    const { record } = error;
    this.logger.warn({ version: record.version, host: record.host, at: record.time, reason: record.reason }, 'version quarantined by the fleet, not deploying it');
    return { verdict: 'quarantined', error };
  }

  /**
   * The `rollout-unavailable` policy: with etcd unreachable, `deploy` goes on without a slot,
   * `wait` refuses (this host cannot know it may deploy). Errors that are not etcd's are bugs.
   */
  private unreachable(error: unknown, version: string): Admission {
    if (!(error instanceof FleetUnavailableError)) throw error;
    if (this.fleet.config.unavailable === 'deploy') {
      this.logger.warn({ version, err: error.message }, 'etcd unreachable; rollout-unavailable = deploy, deploying without coordination');
      return { verdict: 'go', slot: null };
    }
    this.logger.error({ version, err: error.message }, 'etcd unreachable: not deploying (set rollout-unavailable = deploy to choose availability)');
    return { verdict: 'unavailable', error };
  }
}
