import { UpdateFailedError, messageOf } from '../errors.js';
import { openCoordinator } from '../fleet/coordinator.js';
import type { Observation } from '../remotes/types.js';
import { createRunContext, type RunContext, type RunOptions } from './context.js';
import { acquireLock, acquireLockWaiting } from './lock.js';
import { planUpdate, type Observed, type UpdatePlan } from './plan.js';
import { fleetRollback } from './fleet-rollback.js';
import { outsideWindow } from './progressive-status.js';
import { recover } from './recover.js';
import { incompleteReason, intactReleases, reconcile } from './releases-on-disk.js';
import type { CheckResult } from './state.js';
import { apply, change, type Transition } from './transitions.js';
import { carryOut, type Carried } from './update.js';
import { dryRunOutcome, type DryRunReport } from '../dry-run/dry-run.js';
import { observeCheck } from '../observe/index.js';

export { exitCodeOfOutcome, exitCodeOfResult } from './results.js';

/** How one check of one app ended. */
export interface CheckOutcome {
  app: string;
  result: CheckResult;
  /** Version the remote had, when the check got that far. */
  version?: string;
  /** Release current points at afterwards. */
  releaseId?: string;
  /** When a failing version will be tried again. */
  nextTryAt?: string;
  /** Why the check failed (typed: its `exitCode` is the CLI's). */
  error?: Error;
  /** A dry run's details: release path, hooks, download size, fetch. */
  dryRun?: DryRunReport;
}

/** Options for `checkOnce`. */
export interface CheckOptions extends RunOptions {
  /** Say what an update would do, change nothing. */
  dryRun?: boolean;
  /** `retry`: deploy the remote's version even while it is backing off. */
  retry?: boolean;
  /** Wait up to this long for the app's lock (operator commands) instead of failing at once. */
  lockWaitMs?: number;
  /** `--dry-run=fetch`: the dry run also fetches and checks the version, then discards it. */
  dryRunFetch?: boolean;
  /** The user running this check by hand (`retry`), for the history; unset for the agent. */
  operator?: string;
}

/**
 * One check of one app: lock, recover, observe (ask the remote, look at the disk), plan, carry
 * the plan out, record. Throws only `LockBusyError` (and programming errors); every other
 * failure is an outcome, recorded in the state for `status`.
 */
export async function checkOnce(options: CheckOptions): Promise<CheckOutcome> {
  const lock = options.lockWaitMs ? await acquireLockWaiting(options.app.deployDir, options.app.name, options.lockWaitMs) : await acquireLock(options.app.deployDir, options.app.name);
  // A run without a long-lived coordinator (`-f`) opens its own and closes it, which also
  // revokes its lease: its registration and any slot go at once.
  const own = options.coordinator || options.dryRun ? undefined : await openCoordinator(options.app, options.logger);
  const coordinator = options.coordinator ?? own;
  try {
    // History, notifications and the live status of this check (none for a dry run).
    const observer = options.dryRun ? undefined : observeCheck(options);
    const events = observer ? { ...options.events, ...observer.events(options.events) } : options.events;
    const ctx = await createRunContext({ ...options, ...(events ? { events } : {}), ...(coordinator ? { coordinator } : {}) });
    if (options.dryRun) await reconcileInMemory(ctx);
    else await recover(ctx);
    // A plain dry run reads a changed archive's headers only: nothing is downloaded.
    if (options.dryRun && !options.dryRunFetch) ctx.remoteCtx.peek = true;
    const outcome = await checkLocked(ctx, options);
    if (!options.dryRun) await report(ctx, outcome);
    await observer?.finish(outcome);
    return outcome;
  } finally {
    await own?.close().catch(() => undefined);
    await lock.release();
  }
}

/** A dry run sees the releases on disk as a real run would, and saves nothing. */
async function reconcileInMemory(ctx: RunContext): Promise<void> {
  const { view } = await reconcile(ctx.store, ctx.state);
  change(ctx.state, { name: 'reconciled', view });
}

/** Registers this agent's version and last check with the fleet. */
async function report(ctx: RunContext, outcome: CheckOutcome): Promise<void> {
  const release = outcome.releaseId;
  const version = release ? ctx.state.releases[release]?.version : undefined;
  const back = ctx.state.rolledBack;
  const rolledBack = back ? { rolledBack: { version: back.version, by: back.by, reason: back.reason, at: back.at } } : {};
  await ctx.coordinator.report({ ...(version ? { version } : {}), ...(release ? { release } : {}), lastCheckAt: ctx.now().toISOString(), result: outcome.result, ...rolledBack });
}

/** The steps of a check under the lock: observe, plan, carry out, record. */
async function checkLocked(ctx: RunContext, options: CheckOptions): Promise<CheckOutcome> {
  let observation: Observation;
  try {
    observation = await ctx.remote.check(ctx.remoteCtx);
  } catch (error) {
    ctx.logger.error({ remote: ctx.remote.display, err: messageOf(error) }, 'check failed');
    return record(ctx, options, { outcome: { result: 'failed', error: asError(error) }, transitions: [] });
  }
  const observed = await observe(ctx, observation.version);
  const back = options.dryRun ? null : await fleetRollback(ctx, observed);
  if (back) return record(ctx, options, back);
  const plan = planUpdate(observed, { state: ctx.state, sourceKey: ctx.sourceKey, now: ctx.now(), ...(options.retry ? { retry: true } : {}), ...(options.dryRun ? { dryRun: true } : {}) });
  const closed = outsideWindow(ctx, plan);
  if (closed) return record(ctx, options, closed);
  if (plan.action === 'reuse' || plan.action === 'deploy') return record(ctx, options, await carryOut(ctx, plan, observation));
  if (plan.action === 'would-deploy') {
    ctx.logger.info({ version: plan.version, previous: plan.previous, link: observed.link.kind }, plan.reuse ? `dry run: would activate release ${plan.reuse} again` : 'dry run: would deploy this version');
    return { app: ctx.app.name, ...(await dryRunOutcome(ctx, { version: plan.version, reuse: plan.reuse, observation, fetch: options.dryRunFetch ?? false })) };
  }
  return record(ctx, options, settled(ctx, plan, observed));
}

/** Looks at `current` and at the releases a plan may activate or revert to. */
async function observe(ctx: RunContext, version: string): Promise<Observed> {
  const { state } = ctx;
  const link = await ctx.store.current();
  const linked = link.kind === 'release' ? link.id : null;
  // `current` must resolve to a complete release the state knows; anything else is repaired.
  const broken = linked ? ((await incompleteReason(ctx.store, linked)) ?? (state.releases[linked] ? null : `release ${linked} is not one this agent knows`)) : null;
  if (broken) ctx.logger.warn({ version, release: linked, reason: broken }, 'current release is missing or incomplete: repairing it');
  // Releases a plan may activate (one of this version) or revert to (the previous one); current
  // was judged just above.
  const candidates = Object.keys(state.releases).filter((id) => id !== linked && (state.releases[id]!.version === version || id === state.previous));
  // A real directory at `current` is adopted by a deploy; a symlink cannot be swapped over it.
  const intact = link.kind === 'directory' ? new Set<string>() : await intactReleases(ctx.store, state, candidates);
  return { version, link, broken, intact };
}

/** The outcome of a plan that deploys nothing. */
function settled(ctx: RunContext, plan: Exclude<UpdatePlan, { action: 'reuse' | 'deploy' | 'would-deploy' }>, observed: Observed): Carried {
  const log = ctx.logger.child({ version: observed.version });
  const version = observed.version;
  const transitions: Transition[] = plan.condemn ? [{ name: 'condemned', releaseId: plan.condemn }] : [];
  switch (plan.action) {
    case 'up-to-date':
      log.debug({ release: plan.releaseId }, 'up to date');
      return { outcome: { result: 'up-to-date', version, releaseId: plan.releaseId }, transitions };
    case 'held':
      log.debug({ release: plan.releaseId }, 'held by a rollback; the remote has not changed since');
      return { outcome: { result: 'held', version, releaseId: plan.releaseId }, transitions };
    case 'backing-off': {
      const nextTryAt = plan.nextTryAt.toISOString();
      const error = new UpdateFailedError('backing-off', `version ${version} failed before (${plan.reason}); next try at ${nextTryAt}`);
      log.info({ nextTryAt }, 'version failed before, backing off');
      return { outcome: { result: 'backing-off', version, nextTryAt, error }, transitions };
    }
  }
}

/**
 * The record step: applies the check's transitions with its result, saved together (not in a
 * dry run). A failed save is added to the check's own failure, never put in its place.
 */
async function record(ctx: RunContext, options: CheckOptions, carried: Carried): Promise<CheckOutcome> {
  const o: CheckOutcome = { app: ctx.app.name, ...carried.outcome };
  if (options.dryRun) return o;
  const at = ctx.now().toISOString();
  const checked: Transition = { name: 'checked', record: { at, result: o.result, ...(o.version ? { version: o.version } : {}), ...(o.releaseId ? { releaseId: o.releaseId } : {}), ...(o.error ? { error: o.error.message } : {}) } };
  try {
    await apply(ctx, ...carried.transitions, checked);
  } catch (error) {
    // The check's own failure (often the same full disk) is what the operator must see first.
    ctx.logger.error({ err: messageOf(error) }, 'could not record the outcome');
    if (o.error) return { ...o, error: Object.assign(o.error, { message: `${o.error.message}; also, ${messageOf(error)}` }) };
    return { ...o, result: 'failed', error: asError(error) };
  }
  return o;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
