import { messageOf } from '../errors.js';
import type { QuarantineRecord } from '../fleet/types.js';
import type { RunContext } from './context.js';
import type { Observed } from './plan.js';
import type { Carried } from './update.js';
import { runPhase } from './hook-step.js';
import { recordHold, settleMeta } from './releases-on-disk.js';
import { apply } from './transitions.js';

/**
 * Fleet rollback (`rollback-on-quarantine = true`, the default): a host whose current release
 * runs a version the fleet has since quarantined (another host reverted it, perhaps minutes
 * after this host confirmed it) returns to its previous good release at its next check. It
 * reverts the way a failing post-update hook does (swap back, post-update hooks with
 * `REPO_DEPLOY_REVERT=1`), marks the release failed, and holds the previous release against
 * the quarantined version like an operator's rollback, so it is not deployed again while the
 * remote still offers it.
 */

/** What a fleet rollback did. */
export interface FleetRollback {
  /** The quarantined version and the release returned to. */
  version: string;
  releaseId: string;
  record: QuarantineRecord;
}

/**
 * The fleet-rollback step of a check, before planning: the outcome `rolled-back` when the
 * linked release's version is quarantined and the host returned to its previous release.
 */
export async function fleetRollback(ctx: RunContext, observed: Observed): Promise<Carried | null> {
  const linked = observed.link.kind === 'release' ? observed.link.id : null;
  // Only while the remote still offers the current version: a newer one replaces it anyway,
  // and an idle host asks etcd nothing more when etcd is down (its first failure is reported
  // by the screening of the new version, with its own reason).
  if (!linked || observed.broken || ctx.state.releases[linked]?.version !== observed.version) return null;
  const previous = ctx.state.previous;
  const back = await rollbackIfQuarantined(ctx, linked, Boolean(previous && observed.intact.has(previous)));
  return back ? { outcome: { result: 'rolled-back', version: back.version, releaseId: back.releaseId }, transitions: [] } : null;
}

/**
 * Returns to the previous release when `currentId`'s version is quarantined. Null when it is
 * not, when etcd cannot say (the host keeps serving what it has), or when there is no intact
 * good release to return to (logged). `previousIntact`: the previous release is whole on disk.
 */
export async function rollbackIfQuarantined(ctx: RunContext, currentId: string, previousIntact: boolean): Promise<FleetRollback | null> {
  const { state, logger } = ctx;
  const version = state.releases[currentId]?.version;
  if (!ctx.app.rollout || !ctx.app.rollbackOnQuarantine || !version) return null;
  // Quarantined, or not (etcd unreachable: keep serving). Not the screening of a new version:
  // a paused group or an unreachable etcd must not be logged at every idle check.
  const record = await ctx.coordinator.quarantineOf(version);
  if (!record) return null;
  const previous = state.previous;
  const log = logger.child({ version, release: currentId, quarantinedBy: record.host, reason: record.reason });
  if (!previous || previous === currentId || !previousIntact || state.releases[previous]?.status !== 'good') {
    log.error(`current version was quarantined by the fleet (reverted on ${record.host}), but there is no previous good release to return to`);
    return null;
  }
  log.warn({ restored: previous }, `current version was quarantined by the fleet (reverted on ${record.host}: ${record.reason}): returning to the previous release`);
  await returnTo(ctx, currentId, previous, record);
  return { version, releaseId: previous, record };
}

/** Swaps back to `previous`, records why, holds it, and re-runs its post-update hooks. */
async function returnTo(ctx: RunContext, currentId: string, previous: string, record: QuarantineRecord): Promise<void> {
  const { store, state, logger } = ctx;
  const at = ctx.now().toISOString();
  await store.swap(previous);
  const hold = { releaseId: previous, fromVersions: [record.version], at };
  const rolledBack = { version: record.version, fromRelease: currentId, toRelease: previous, by: record.host, reason: record.reason, at };
  await apply(ctx, { name: 'rolled-back', rolledBack, hold });
  await settleMeta(store, currentId, 'failed');
  await recordHold(store, previous, { fromVersions: hold.fromVersions, at });
  const restoredVersion = state.releases[previous]?.version ?? 'unknown';
  try {
    await runPhase(ctx, { phase: 'post-update', releaseId: previous, version: restoredVersion, previousId: currentId, revert: true });
  } catch (error) {
    logger.error({ release: previous, err: messageOf(error) }, 'post-update hooks failed for the restored release; it stays current');
  }
}
