import { formatDuration } from '../util/duration.js';
import type { RunContext } from './context.js';
import type { InProgressRecord } from './state.js';
import { apply } from './transitions.js';
import { validateRelease } from './validate.js';

/**
 * Bake (`bake = DURATION`): after its post-update hooks pass, a release stays unconfirmed for
 * that long, validated at once and then every `validate-interval`; with a fleet it keeps its
 * rollout slot meanwhile, so the next hosts start only once it has proven itself. Only then is
 * it confirmed. A stop request (SIGTERM) ends the wait at once and leaves the release baking:
 * the state says so (`inProgress.phase = baking`, `bakeUntil`), and the next run's recovery
 * validates it at once and bakes what is left of the time (without a rollout slot) before it
 * confirms it. With `bake = 0` the validation hooks run once and the release is confirmed.
 */

/** How a bake ended when no validation failed (a failure rejects with the hook's error). */
export type BakeEnd = 'baked' | 'stopped';

/**
 * Validates the swapped release `pending` and bakes it for what is left of its bake time.
 * `pending.phase = baking` resumes an interrupted bake at its recorded end. Records the bake
 * in the state before the first wait. Rejects with `HookRunError` when a validation fails.
 */
export async function bakeRelease(ctx: RunContext, pending: InProgressRecord): Promise<BakeEnd> {
  const target = { releaseId: pending.releaseId, version: pending.version, previousId: pending.previous };
  const log = ctx.logger.child({ version: pending.version, release: pending.releaseId });
  const until = pending.bakeUntil ? new Date(pending.bakeUntil) : new Date(ctx.now().getTime() + ctx.app.bakeMs);
  await validateRelease(ctx, target);
  if (remainingMs(ctx, until) <= 0) {
    if (pending.phase === 'baking') log.info('release baked: confirming it');
    return 'baked';
  }
  await record(ctx, pending, until.toISOString());
  log.info({ until: until.toISOString(), validateEvery: formatDuration(ctx.app.validateIntervalMs) }, 'baking release: validating it before confirming it');
  for (;;) {
    const left = remainingMs(ctx, until);
    if (left <= 0) break;
    if (!(await pause(Math.min(ctx.app.validateIntervalMs, left), ctx.signal))) {
      log.info({ until: until.toISOString() }, 'stop requested while baking: the release stays baking, the next start finishes its bake');
      return 'stopped';
    }
    await validateRelease(ctx, target);
    await record(ctx, pending, until.toISOString());
  }
  log.info('release baked: confirming it');
  return 'baked';
}

function remainingMs(ctx: RunContext, until: Date): number {
  return until.getTime() - ctx.now().getTime();
}

/** Records the bake in the pending update, so `status` and recovery see it. */
async function record(ctx: RunContext, pending: InProgressRecord, bakeUntil: string): Promise<void> {
  pending.bakeUntil = bakeUntil;
  await apply(ctx, { name: 'baking', bakeUntil, validatedAt: ctx.now().toISOString() });
}

/** Waits `ms`; resolves false at once when `signal` is (or becomes) aborted. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (completed: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(completed);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
