import { existsSync } from 'node:fs';
import { messageOf } from '../errors.js';
import type { RunContext } from './context.js';
import { confirm } from './deploy.js';

/**
 * Puts an app back into a settled state after a run was killed (DESIGN §8): removes staging
 * directories and temporary links, re-creates `current` if a crash hit between the two renames
 * of adopting a directory, and settles an interrupted update. Runs under the app's lock at the
 * start of every run, before anything else.
 */
export async function recover(ctx: RunContext): Promise<void> {
  const { store, state, logger } = ctx;
  for (const path of await store.cleanup()) logger.info({ path }, 'removed leftover of an interrupted run');

  let link = await store.current();
  if (link.kind === 'missing' && state.current && existsSync(store.pathOf(state.current))) {
    await store.swap(state.current);
    logger.warn({ release: state.current }, 'current was missing, restored it');
    link = await store.current();
  }

  const pending = state.inProgress;
  if (!pending) return;
  const linked = link.kind === 'release' && link.id === pending.releaseId;
  if (pending.phase === 'swapped' && linked) {
    // Readers already see the new release but its post-update hooks never finished: run
    // them now, which confirms the release or reverts it like any other update.
    logger.warn({ release: pending.releaseId, version: pending.version }, 'finishing an update interrupted after the swap');
    try {
      await confirm(ctx, pending);
    } catch (error) {
      logger.error({ release: pending.releaseId, err: messageOf(error) }, 'interrupted update reverted');
    }
    return;
  }
  // Never became current (killed before or during the swap's rename): it was never seen.
  if (existsSync(store.pathOf(pending.releaseId)) && !linked) await store.remove(pending.releaseId);
  delete state.inProgress;
  await ctx.save();
  logger.info({ release: pending.releaseId, version: pending.version }, 'discarded an update interrupted before the swap');
}
