import { HookError, UpdateFailedError, messageOf } from '../errors.js';
import { settlementOfFailure, type Refusal } from '../fleet/coordinator.js';
import { outputTailOf } from '../hooks/index.js';
import { linkSharedPaths } from '../shared/link-shared.js';
import { confirm } from './confirm.js';
import type { RunContext } from './context.js';
import { runPhase } from './hook-step.js';
import { incompleteReason } from './releases-on-disk.js';
import type { InProgressRecord } from './state.js';
import { apply, type Transition } from './transitions.js';

/** How an update ended when it did not throw. */
export type DeployResult =
  | { result: 'deployed'; releaseId: string }
  | { result: 'up-to-date'; releaseId: string }
  | { result: 'stopped' }
  /** The fleet did not let this host swap (quarantined meanwhile, no slot, etcd unreachable). */
  | { result: 'refused'; refusal: Refusal };

/** Options of `activate`. */
export interface ActivateOptions {
  /** The release was made by this update: removed when the update ends before the swap. */
  discardOnBlock: boolean;
}

/**
 * Makes a published release current the way an update does: the hooks step (pre-update hooks;
 * a failure blocks), the fleet's admission, the swap, then `confirm` (post-update hooks; a
 * failure reverts) and the fleet's settlement. Used for new releases, reuses and rollbacks.
 */
export async function activate(ctx: RunContext, pending: InProgressRecord, options: ActivateOptions): Promise<DeployResult> {
  const { logger } = ctx;
  const { releaseId, version, previous } = pending;
  const ended = await preUpdate(ctx, pending, options);
  if (ended) return ended;
  // The slot is taken after the pre-update hooks passed, right before the swap, so at most
  // max-parallel hosts sit between swap and confirmed success.
  const admission = await ctx.coordinator.admit(version, ctx.signal ? { signal: ctx.signal } : {});
  if (admission.verdict !== 'go') {
    await endBeforeSwap(ctx, releaseId, options, { name: admission.verdict === 'stopped' ? 'stopped' : 'discarded' });
    return admission.verdict === 'stopped' ? { result: 'stopped' } : { result: 'refused', refusal: admission };
  }
  let result: DeployResult;
  try {
    await apply(ctx, { name: 'swapped' });
    await ctx.store.swap(releaseId);
    logger.info({ version, release: releaseId, previous }, 'swapped current to release');
    result = await confirm(ctx, ctx.state.inProgress!);
  } catch (error) {
    // A revert quarantines the version for the whole group before the slot is given back.
    await ctx.coordinator.settle(version, admission.slot, settlementOfFailure(error));
    throw error;
  }
  // A stop during the bake leaves the release baking: not confirmed, so no wave counts it yet.
  await ctx.coordinator.settle(version, admission.slot, result.result === 'stopped' ? { ok: null } : { ok: true });
  return result;
}

/**
 * The hooks step before the swap: pre-update hooks, then a look at the release. Returns how
 * the update ended when it ends here (stopped), null to go on; throws `blocked`.
 */
async function preUpdate(ctx: RunContext, pending: InProgressRecord, options: ActivateOptions): Promise<DeployResult | null> {
  const { releaseId, version, previous } = pending;
  // A new release was staged before it was published; a reuse or a rollback is staged here.
  if (ctx.state.inProgress !== pending) await apply(ctx, { name: 'staged', pending });
  try {
    // Shared paths are in place before any hook sees the release (a reuse already has them).
    await linkSharedPaths(ctx.app, ctx.store.pathOf(releaseId), ctx.logger.child({ version }));
  } catch (error) {
    await endBeforeSwap(ctx, releaseId, options, { name: 'blocked' });
    throw error;
  }
  try {
    // Only pre-update hooks stop early on a stop request: post-update hooks always run to
    // the end, so the app is never left half-restarted.
    await runPhase(ctx, { phase: 'pre-update', releaseId, version, previousId: previous }, ctx.signal);
  } catch (error) {
    const hookOutput = outputTailOf(error);
    if (ctx.signal?.aborted && !(error instanceof HookError)) {
      await endBeforeSwap(ctx, releaseId, options, { name: 'stopped', hookOutput });
      return { result: 'stopped' };
    }
    await endBeforeSwap(ctx, releaseId, options, { name: 'blocked', hookOutput });
    throw new UpdateFailedError('blocked', `update to ${version} blocked by pre-update hook: ${messageOf(error)}`, { cause: error });
  }
  if (ctx.signal?.aborted) {
    // Stopping before the swap is the safe point: nothing readers see has changed.
    await endBeforeSwap(ctx, releaseId, options, { name: 'stopped' });
    return { result: 'stopped' };
  }
  // A hook (or a hand) may have deleted or emptied the release: never swap to what is not whole.
  const broken = await incompleteReason(ctx.store, releaseId);
  if (broken) {
    await endBeforeSwap(ctx, releaseId, options, { name: 'blocked' });
    throw new UpdateFailedError('blocked', `update to ${version} not made current: ${broken} after it was staged (by a pre-update hook?); current is unchanged`);
  }
  return null;
}

/** Ends an update before the swap: removes a release this update made, records how it ended. */
async function endBeforeSwap(ctx: RunContext, releaseId: string, options: ActivateOptions, end: Transition): Promise<void> {
  if (options.discardOnBlock) await ctx.store.remove(releaseId);
  await apply(ctx, end);
}
