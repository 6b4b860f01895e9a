import { existsSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { createRunContext, type RunOptions } from './context.js';
import { activate, type DeployResult } from './activate.js';
import { acquireLockWaiting } from './lock.js';
import { recover } from './recover.js';
import { recordHold } from './releases-on-disk.js';
import { apply } from './transitions.js';

/** How long an operator command waits for a check in progress to end. */
const operatorLockWaitMs = 30_000;

/** Options for `rollback`. */
export interface RollbackOptions extends RunOptions {
  /** Release to go back to; default: the previous one. */
  to?: string;
}

/**
 * Makes an earlier release current again, running the hooks as an update does. Afterwards the
 * release is held: the versions rolled back from are not redeployed until the remote's version
 * changes again, or `resume` lifts the hold. Throws `UsageError` for an unknown release.
 */
export async function rollback(options: RollbackOptions): Promise<DeployResult & { from?: string }> {
  const lock = await acquireLockWaiting(options.app.deployDir, options.app.name, operatorLockWaitMs);
  try {
    const ctx = await createRunContext(options);
    await recover(ctx);
    const { state, store } = ctx;
    const link = await store.current();
    const currentId = link.kind === 'release' ? link.id : null;
    const target = options.to ?? state.previous;
    if (!target) throw new UsageError(`app ${ctx.app.name} has no previous release to roll back to; see repo-deploy releases`);
    if (target === currentId) throw new UsageError(`release ${target} is already current`);
    const record = state.releases[target];
    if (!record || !existsSync(store.pathOf(target))) {
      throw new UsageError(`no release ${target} in ${store.releasesDir}; see repo-deploy releases ${ctx.app.name === 'default' ? '' : ctx.app.name}`.trim());
    }
    const fromVersions = currentId
      ? [state.releases[currentId]?.version, state.seen?.releaseId === currentId ? state.seen.version : undefined, state.lastCheck?.version].filter((v): v is string => Boolean(v))
      : [];
    ctx.logger.info({ release: target, from: currentId }, 'rolling back');
    const pending = {
      releaseId: target,
      version: record.version,
      phase: 'pre-update' as const,
      previous: currentId,
      ...(record.contentId ? { contentId: record.contentId } : {}),
      ...(record.detail ? { detail: record.detail } : {}),
    };
    // A rollback is not coordinated: `ctx.coordinator` is the no-op one, no fleet was opened.
    const result = await activate(ctx, pending, { discardOnBlock: false });
    if (result.result === 'deployed') {
      const hold = { releaseId: target, fromVersions: [...new Set(fromVersions)], at: ctx.now().toISOString() };
      await apply(ctx, { name: 'held', hold });
      await recordHold(store, target, { fromVersions: hold.fromVersions, at: hold.at });
    }
    return { ...result, ...(currentId ? { from: currentId } : {}) };
  } finally {
    await lock.release();
  }
}

/** Lifts a rollback's hold, so the next check deploys the remote's version again. */
export async function resume(options: RunOptions): Promise<boolean> {
  const lock = await acquireLockWaiting(options.app.deployDir, options.app.name, operatorLockWaitMs);
  try {
    const ctx = await createRunContext(options);
    const held = Boolean(ctx.state.hold);
    if (ctx.state.hold) await recordHold(ctx.store, ctx.state.hold.releaseId, undefined);
    await apply(ctx, { name: 'unheld' });
    return held;
  } finally {
    await lock.release();
  }
}
