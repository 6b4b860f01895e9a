import { UpdateFailedError, messageOf } from '../errors.js';
import { outputTailOf } from '../hooks/index.js';
import { planPrune } from '../release/retention.js';
import type { RunContext } from './context.js';
import { runPhase } from './hook-step.js';
import { settleMeta } from './releases-on-disk.js';
import type { InProgressRecord, ReleaseRecord } from './state.js';
import { apply } from './transitions.js';

/**
 * The confirm step: runs the post-update hooks of a swapped release and settles it, good or
 * reverted to the previous release; then prunes. Also used by recovery to finish an update a
 * crash interrupted. Throws `UpdateFailedError('reverted')` after a revert.
 */
export async function confirm(ctx: RunContext, pending: InProgressRecord): Promise<{ result: 'deployed'; releaseId: string }> {
  const { store, logger } = ctx;
  const { releaseId, version, previous } = pending;
  const record = recordOf(ctx, pending);
  let hookOutput: string[];
  try {
    hookOutput = (await runPhase(ctx, { phase: 'post-update', releaseId, version, previousId: previous })).outputTail;
  } catch (error) {
    await settleMeta(store, releaseId, 'failed');
    await revert(ctx, { ...record, status: 'failed' }, pending, outputTailOf(error));
    const to = previous ? ` to release ${previous}` : ' (nothing deployed before)';
    throw new UpdateFailedError('reverted', `update to ${version} reverted${to}: ${messageOf(error)}`, { cause: error });
  }
  await settleMeta(store, releaseId, 'good');
  await apply(ctx, { name: 'confirmed', releaseId, record: { ...record, status: 'good' }, previous, at: ctx.now().toISOString(), hookOutput });
  logger.info({ version, release: releaseId }, 'deployed');
  await prune(ctx);
  return { result: 'deployed', releaseId };
}

/** The record a pending release settles into (its status set by the caller). */
function recordOf(ctx: RunContext, pending: InProgressRecord): Omit<ReleaseRecord, 'status'> {
  const existing = ctx.state.releases[pending.releaseId];
  return {
    version: pending.version,
    contentId: pending.contentId,
    createdAt: existing?.createdAt ?? ctx.now().toISOString(),
    detail: pending.detail,
    sourceKey: existing?.sourceKey ?? ctx.sourceKey,
    ...(existing?.adopted ? { adopted: true } : {}),
  };
}

/** Swaps back to `previous` (or removes `current` on a first deploy) and re-runs its post hooks. */
async function revert(ctx: RunContext, failed: ReleaseRecord, pending: InProgressRecord, hookOutput: string[]): Promise<void> {
  const { store, state, logger } = ctx;
  const { releaseId: failedId, previous } = pending;
  await store.swap(previous);
  await apply(ctx, { name: 'reverted', releaseId: failedId, record: failed, restored: previous, hookOutput });
  logger.warn({ release: failedId, restored: previous }, previous ? 'post-update hooks failed, reverted to previous release' : 'post-update hooks failed on a first deploy, removed current');
  if (!previous) return;
  // The app restarts on the old code: the same post-update hooks run for the restored release.
  const version = state.releases[previous]?.version ?? 'unknown';
  try {
    await runPhase(ctx, { phase: 'post-update', releaseId: previous, version, previousId: failedId, revert: true });
  } catch (error) {
    logger.error({ release: previous, err: messageOf(error) }, 'post-update hooks failed again for the restored release; it stays current');
  }
}

/** Removes releases beyond retention (never the current or previous one). */
async function prune(ctx: RunContext): Promise<void> {
  const { state } = ctx;
  // An adopted directory held the host's files before repo-deploy: never pruned.
  const releases = Object.entries(state.releases)
    .filter(([, r]) => !r.adopted)
    .map(([id, r]) => ({ id, status: r.status, createdAt: r.createdAt }));
  const removed: string[] = [];
  for (const id of planPrune(releases, { current: state.current, previous: state.previous }, ctx.app.keep)) {
    try {
      await ctx.store.remove(id);
      removed.push(id);
    } catch (error) {
      ctx.logger.warn({ release: id, err: messageOf(error) }, 'could not remove old release');
    }
  }
  await apply(ctx, { name: 'pruned', releaseIds: removed });
}
