import { existsSync } from 'node:fs';
import { messageOf } from '../errors.js';
import { settlementOfFailure } from '../fleet/coordinator.js';
import type { RunContext } from './context.js';
import { confirm } from './confirm.js';
import { ensureMeta, reconcile, removeOrphanRecords } from './releases-on-disk.js';
import { apply } from './transitions.js';

/**
 * Puts an app back into a settled state after a run was killed: removes staging
 * directories and temporary links, re-creates `current` if a crash hit between the two renames
 * of adopting a directory, settles an interrupted update, and brings the state in line with
 * the releases on disk. Runs under the app's lock at the start of every run, before anything
 * else.
 */
export async function recover(ctx: RunContext): Promise<void> {
  const { store, state, logger } = ctx;
  for (const path of await store.cleanup()) logger.info({ path }, 'removed leftover of an interrupted run');

  const link = await store.current();
  if (link.kind === 'missing' && state.current && existsSync(store.pathOf(state.current))) {
    await store.swap(state.current);
    logger.warn({ release: state.current }, 'current was missing, restored it');
  }
  await settleInterrupted(ctx);
  await reconcileWithDisk(ctx);
}

async function settleInterrupted(ctx: RunContext): Promise<void> {
  const { store, state, logger } = ctx;
  const pending = state.inProgress;
  if (!pending) return;
  const link = await store.current();
  const linked = link.kind === 'release' && link.id === pending.releaseId;
  if ((pending.phase === 'swapped' || pending.phase === 'baking') && linked) {
    // Readers already see the new release but its post-update hooks never finished (run them
    // now) or its bake did not (validate it now and bake what is left): this confirms the
    // release or reverts it like any other update.
    logger.warn({ release: pending.releaseId, version: pending.version }, 'finishing an update interrupted after the swap');
    try {
      // Confirmed here: the host's place in its rollout wave counts (its slot went with the run).
      if ((await confirm(ctx, pending)).result === 'deployed') await ctx.coordinator.settle(pending.version, null, { ok: true });
    } catch (error) {
      logger.error({ release: pending.releaseId, err: messageOf(error) }, 'interrupted update reverted');
      // Settled as in any update: a revert here keeps the rest of the fleet from deploying it.
      await ctx.coordinator.settle(pending.version, null, settlementOfFailure(error));
    }
    return;
  }
  // Never became current (killed before or during the swap's rename): it was never seen. A
  // release that existed before this update (a rollback, a reuse) is kept.
  const isNew = !state.releases[pending.releaseId];
  if (isNew && existsSync(store.pathOf(pending.releaseId)) && !linked) await store.remove(pending.releaseId);
  await apply(ctx, { name: 'discarded' });
  logger.info({ release: pending.releaseId, version: pending.version }, 'discarded an update interrupted before the swap');
}

/**
 * Rebuilds records the state lost from the releases' own metadata, forgets releases deleted
 * from disk, and gives releases made by an older agent (no source recorded) this app's source
 * and a metadata file, so an upgrade of the agent does not redeploy every app.
 */
async function reconcileWithDisk(ctx: RunContext): Promise<void> {
  const { store, logger } = ctx;
  const { rebuilt, dropped, orphanRecords, view } = await reconcile(store, ctx.state);
  if (rebuilt.length) logger.warn({ releases: rebuilt }, 'state rebuilt from the records of the releases on disk');
  if (dropped.length) logger.warn({ releases: dropped }, 'releases missing from disk (deleted by hand?), forgotten');
  const { releases, current, previous, hold } = ctx.state;
  let changed = JSON.stringify(view) !== JSON.stringify({ releases, current, previous, hold });
  for (const [id, record] of Object.entries(view.releases)) {
    if (record.sourceKey) continue;
    record.sourceKey = record.adopted ? 'adopted' : ctx.sourceKey;
    await ensureMeta(store, id, record, record.adopted ? { kind: 'adopted', location: ctx.app.local, settings: {} } : ctx.source, record.sourceKey);
    changed = true;
  }
  await removeOrphanRecords(store, orphanRecords);
  if (changed) await apply(ctx, { name: 'reconciled', view });
}
