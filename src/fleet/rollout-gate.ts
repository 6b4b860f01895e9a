import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import { FleetPausedError, FleetUnavailableError, VersionQuarantinedError } from './errors.js';
import type { Fleet } from './fleet.js';
import type { AcquireOptions, QuarantineRecord, Slot } from './types.js';

/**
 * The two calls the deploy pipeline makes around the swap: `enterRollout` after the pre-update
 * hooks (may this host deploy `version` now?) and `leaveRollout` after post-update success or
 * revert. They apply `rollout-unavailable` and turn fleet errors into a decision, so the
 * pipeline only branches on `proceed`.
 */

/** What `enterRollout` decided. */
export type RolloutDecision =
  /** Deploy. `slot` is null when etcd is unreachable and `rollout-unavailable = deploy`. */
  | { proceed: true; slot: Slot | null }
  /** Skip: another host reverted this version. */
  | { proceed: false; reason: 'quarantined'; record: QuarantineRecord }
  /** Skip: etcd unreachable and `rollout-unavailable = wait`; retry at the next check. */
  | { proceed: false; reason: 'unavailable'; error: FleetUnavailableError }
  /** Skip: the group is paused (`fleet pause`); retry at the next check. */
  | { proceed: false; reason: 'paused'; error: FleetPausedError };

/**
 * Decides whether this host may roll out `version` now: not quarantined, and a slot taken
 * (waiting for one as `opts` allow). `SlotTimeoutError` and an abort are rethrown: the caller
 * maps the first to exit 75 and the second to a clean stop.
 */
export async function enterRollout(fleet: Fleet, version: string, opts: AcquireOptions, logger: Logger): Promise<RolloutDecision> {
  try {
    const bad = await fleet.quarantined(version);
    if (bad) return skipQuarantined(bad, logger);
    return { proceed: true, slot: await fleet.acquireSlot(version, opts) };
  } catch (error) {
    if (error instanceof VersionQuarantinedError) return skipQuarantined(error.record, logger);
    if (error instanceof FleetPausedError) {
      logger.info({ version, pausedBy: error.record.by, pausedAt: error.record.time }, 'rollout group paused: not starting the new version');
      return { proceed: false, reason: 'paused', error };
    }
    if (!(error instanceof FleetUnavailableError)) throw error;
    if (fleet.config.unavailable === 'deploy') {
      logger.warn({ version, err: error.message }, 'etcd unreachable: deploying without fleet coordination (rollout-unavailable = deploy)');
      return { proceed: true, slot: null };
    }
    logger.error({ version, err: error.message }, 'etcd unreachable: not deploying, this host cannot know it may (rollout-unavailable = wait)');
    return { proceed: false, reason: 'unavailable', error };
  }
}

/**
 * After post-update hooks: on a revert, quarantines `version` for the group (with `reason`),
 * then gives the slot back. Never throws: a failure to reach etcd here is logged, and the lease
 * frees the slot within its TTL anyway.
 */
export async function leaveRollout(
  fleet: Fleet,
  slot: Slot | null,
  version: string,
  outcome: { ok: true } | { ok: false; reason: string },
  logger: Logger,
): Promise<void> {
  // Quarantine before releasing, so the next host to take the slot already sees the record.
  if (!outcome.ok) {
    await fleet.quarantine(version, outcome.reason).catch((error: unknown) =>
      logger.error({ version, err: messageOf(error) }, 'could not quarantine the reverted version; other hosts may try it'),
    );
  }
  if (!slot) return;
  // Confirmed (or failed) before the slot goes: the next wave opens on a confirmation.
  await fleet.settle(version, outcome.ok).catch((error: unknown) =>
    logger.warn({ version, err: messageOf(error) }, 'could not record the rollout outcome; the open wave waits for it'),
  );
  if (slot.lost.aborted) logger.error({ version, slot: slot.index }, 'rollout slot was lost during the update: another host may have rolled out at the same time');
  await slot.release().catch((error: unknown) =>
    logger.warn({ version, err: messageOf(error) }, 'could not release the rollout slot; it frees itself when the lease expires'),
  );
}

function skipQuarantined(record: QuarantineRecord, logger: Logger): RolloutDecision {
  logger.warn(
    { version: record.version, quarantinedBy: record.host, quarantinedAt: record.time, reason: record.reason },
    'skipping quarantined version: reverted by another host; lift with repo-deploy fleet clear',
  );
  return { proceed: false, reason: 'quarantined', record };
}
