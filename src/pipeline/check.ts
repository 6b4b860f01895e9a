import { RepoDeployError, UpdateFailedError, messageOf } from '../errors.js';
import { FleetUnavailableError, SlotTimeoutError, VersionQuarantinedError } from '../fleet/errors.js';
import type { Fleet } from '../fleet/fleet.js';
import { createRunContext, openFleet, type RunContext, type RunOptions } from './context.js';
import { activate, deploy } from './deploy.js';
import { acquireLock, acquireLockWaiting } from './lock.js';
import { planCheck, recordFailure } from './plan.js';
import { recover } from './recover.js';
import { incompleteReason, intactReleases, reconcile, recordHold } from './releases-on-disk.js';
import type { CheckResult } from './state.js';
import { dryRunOutcome, type DryRunReport } from '../dry-run/dry-run.js';
import { observeCheck } from '../observe/index.js';

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
 * One check of one app (DESIGN §6): lock, recover, ask the remote, plan, deploy if needed,
 * record. Throws only `LockBusyError` (and programming errors); every other failure is an
 * outcome, recorded in the state for `status`.
 */
export async function checkOnce(options: CheckOptions): Promise<CheckOutcome> {
  const lock = options.lockWaitMs ? await acquireLockWaiting(options.app.deployDir, options.app.name, options.lockWaitMs) : await acquireLock(options.app.deployDir, options.app.name);
  // A run without a long-lived fleet (`-f`) opens its own and closes it, which also revokes
  // its lease: its registration and any slot go at once.
  const ownFleet = options.fleet || options.dryRun ? undefined : await openFleet(options.app, options.logger);
  const fleet = options.fleet ?? ownFleet;
  try {
    const observer = options.dryRun ? undefined : observeCheck(options);
    const events = observer ? { ...options.events, ...observer.events(options.events) } : options.events;
    const ctx = await createRunContext({ ...options, ...(events ? { events } : {}), ...(fleet ? { fleet } : {}) });
    if (!options.dryRun) await recover(ctx);
    else await reconcile(ctx.store, ctx.state);
    if (options.dryRun && !options.dryRunFetch) ctx.remoteCtx.peek = true;
    const outcome = await checkLocked(ctx, options.dryRun ?? false, options.retry ?? false, options.dryRun ? (options.dryRunFetch ?? false) : undefined);
    if (fleet && !options.dryRun) await reportToFleet(ctx, fleet, outcome);
    await observer?.finish(outcome);
    return outcome;
  } finally {
    await ownFleet?.close().catch(() => undefined);
    await lock.release();
  }
}

/** Registers this agent's version and last check with the fleet (best effort). */
async function reportToFleet(ctx: RunContext, fleet: Fleet, outcome: CheckOutcome): Promise<void> {
  const release = outcome.releaseId;
  const version = release ? ctx.state.releases[release]?.version : undefined;
  try {
    await fleet.report({ ...(version ? { version } : {}), ...(release ? { release } : {}), lastCheckAt: ctx.now().toISOString(), result: outcome.result });
  } catch (error) {
    ctx.logger.warn({ err: messageOf(error) }, 'could not report to the fleet');
  }
}

async function checkLocked(ctx: RunContext, dryRun: boolean, retry: boolean, dryRunFetch?: boolean): Promise<CheckOutcome> {
  const { state, logger } = ctx;
  const outcome = (result: CheckResult, extra: Partial<CheckOutcome> = {}): CheckOutcome => ({ app: ctx.app.name, result, ...extra });
  const record = async (o: CheckOutcome): Promise<CheckOutcome> => {
    if (dryRun) return o;
    state.lastCheck = { at: ctx.now().toISOString(), result: o.result, ...(o.version ? { version: o.version } : {}), ...(o.releaseId ? { releaseId: o.releaseId } : {}), ...(o.error ? { error: o.error.message } : {}) };
    try {
      await ctx.save();
    } catch (error) {
      // The check's own failure (often the same full disk) is what the operator must see
      // first; a state that could not be recorded is added to it, never put in its place.
      logger.error({ err: messageOf(error) }, 'could not record the outcome');
      if (o.error) return { ...o, error: Object.assign(o.error, { message: `${o.error.message}; also, ${messageOf(error)}` }) };
      return { ...o, result: 'failed', error: asError(error) };
    }
    return o;
  };

  let observation;
  try {
    observation = await ctx.remote.check(ctx.remoteCtx);
  } catch (error) {
    logger.error({ remote: ctx.remote.display, err: messageOf(error) }, 'check failed');
    return record(outcome('failed', { error: asError(error) }));
  }
  const { version } = observation;
  const link = await ctx.store.current();
  const linked = link.kind === 'release' ? link.id : null;
  const log = logger.child({ version });
  // `current` must resolve to a complete release the state knows; anything else is repaired.
  const broken = linked ? ((await incompleteReason(ctx.store, linked)) ?? (state.releases[linked] ? null : `release ${linked} is not one this agent knows`)) : null;
  if (broken) {
    log.warn({ release: linked, reason: broken }, 'current release is missing or incomplete: repairing it');
    // Never served or reused again; pruned first.
    if (linked && state.releases[linked]) state.releases[linked]!.status = 'failed';
    if (linked) ctx.events.onTransition?.(ctx.app.name, { name: 'condemned', releaseId: linked }, state);
  }
  // Releases a plan may activate (one of this version) or revert to (the previous one); current
  // was judged just above.
  const candidates = Object.keys(state.releases).filter((id) => id !== linked && (state.releases[id]!.version === version || id === state.previous));
  // A real directory at `current` is adopted by a deploy; a symlink cannot be swapped over it.
  const intact = link.kind === 'directory' ? new Set<string>() : await intactReleases(ctx.store, state, candidates);
  const current = broken ? null : linked;
  const plan = planCheck({ observed: version, currentRelease: current, sourceKey: ctx.sourceKey, intact, state, now: ctx.now(), ...(retry ? { ignoreBackoff: true } : {}) });

  if (plan.action === 'up-to-date') {
    log.debug({ release: plan.releaseId }, 'up to date');
    return record(outcome('up-to-date', { version, releaseId: plan.releaseId }));
  }
  if (plan.action === 'held') {
    log.debug({ release: plan.releaseId }, 'held by a rollback; the remote has not changed since');
    return record(outcome('held', { version, releaseId: plan.releaseId }));
  }
  if (plan.action === 'backing-off') {
    const error = new UpdateFailedError('backing-off', `version ${version} failed before (${plan.reason}); next try at ${plan.nextTryAt.toISOString()}`);
    log.info({ nextTryAt: plan.nextTryAt.toISOString() }, 'version failed before, backing off');
    return record(outcome('backing-off', { version, nextTryAt: plan.nextTryAt.toISOString(), error }));
  }
  if (dryRun) {
    const what = plan.action === 'reuse' ? `would activate release ${plan.releaseId} again` : 'would deploy this version';
    log.info({ previous: plan.previous, link: link.kind }, `dry run: ${what}`);
    return dryRunOutcome(ctx, { version, reuse: plan.action === 'reuse' ? plan.releaseId : null, observation, fetch: dryRunFetch ?? false }).then((o) => outcome(o.result, o));
  }

  if (ctx.fleet) {
    // Checked before fetching, so a quarantined version costs no download and no hooks.
    const blocked = await fleetGate(ctx, version);
    if (blocked) return record(outcome(blocked.result, { version, error: blocked.error, ...(link.kind === 'release' ? { releaseId: link.id } : {}) }));
  }
  // A repair (or a source change) reverts to the last intact release, never to a broken one.
  const previous = current ?? (state.previous && intact.has(state.previous) ? state.previous : null);
  // A new remote version ends a rollback's hold.
  if (state.hold) await recordHold(ctx.store, state.hold.releaseId, undefined);
  delete state.hold;
  try {
    let done;
    if (plan.action === 'reuse') {
      log.info({ release: plan.releaseId, previous }, 'version already on disk as a good release, activating it again');
      const reused = state.releases[plan.releaseId]!;
      const pending = { releaseId: plan.releaseId, version, phase: 'pre-update' as const, previous, ...(reused.contentId ? { contentId: reused.contentId } : {}), ...(reused.detail ? { detail: reused.detail } : {}) };
      done = await activate(ctx, pending, { discardOnBlock: false, coordinate: true });
    } else {
      log.info({ previous, ...observation.detail }, broken ? 'redeploying to repair current' : 'new version, deploying');
      const sameSource = current !== null && state.releases[current]?.sourceKey === ctx.sourceKey;
      done = await deploy(ctx, observation, { previous, adoptDirectory: link.kind === 'directory', sameContentAs: sameSource ? current : null });
    }
    if (done.result === 'stopped') return record(outcome('stopped', { version }));
    return record(outcome(done.result, { version, releaseId: done.releaseId }));
  } catch (error) {
    const current = await ctx.store.current();
    const where = current.kind === 'release' ? { releaseId: current.id } : {};
    // Waiting for the fleet is not the version's fault: no back-off, the next check retries.
    if (error instanceof SlotTimeoutError || error instanceof FleetUnavailableError || error instanceof VersionQuarantinedError) {
      const result: CheckResult = error instanceof SlotTimeoutError ? 'busy' : error instanceof VersionQuarantinedError ? 'quarantined' : 'failed';
      log.warn({ err: messageOf(error), result }, 'update not deployed: fleet coordination');
      return record(outcome(result, { version, error, ...where }));
    }
    const result: CheckResult = error instanceof UpdateFailedError ? error.reason : 'failed';
    state.failing = recordFailure(state.failing, version, messageOf(error), ctx.now(), ctx.sourceKey);
    ctx.events.onTransition?.(ctx.app.name, { name: 'failed', failing: state.failing }, state);
    log.error({ err: messageOf(error), result, nextTryAt: state.failing.nextTryAt }, 'update failed');
    return record(outcome(result, { version, error: asError(error), nextTryAt: state.failing.nextTryAt, ...where }));
  }
}

/**
 * Asks the fleet whether `version` may be deployed here: not when another host quarantined it,
 * nor when etcd cannot be reached and `rollout-unavailable = wait` (we cannot know we may).
 */
async function fleetGate(ctx: RunContext, version: string): Promise<{ result: CheckResult; error: Error } | null> {
  try {
    const record = await ctx.fleet!.quarantined(version);
    if (!record) return null;
    const error = new VersionQuarantinedError(record);
    ctx.logger.warn({ version, host: record.host, at: record.time, reason: record.reason }, 'version quarantined by the fleet, not deploying it');
    return { result: 'quarantined', error };
  } catch (error) {
    if (!(error instanceof FleetUnavailableError)) throw error;
    if (ctx.app.rollout?.unavailable === 'deploy') {
      ctx.logger.warn({ err: messageOf(error) }, 'etcd unreachable; rollout-unavailable = deploy, deploying without coordination');
      return null;
    }
    ctx.logger.error({ err: messageOf(error) }, 'etcd unreachable: not deploying (set rollout-unavailable = deploy to choose availability)');
    return { result: 'failed', error };
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Exit code for an outcome (DESIGN §2). */
export function exitCodeOfOutcome(outcome: CheckOutcome): 0 | 1 | 2 | 75 {
  if (exitCodeOfResult(outcome.result) === 0) return 0;
  return outcome.error instanceof RepoDeployError ? outcome.error.exitCode : exitCodeOfResult(outcome.result);
}

/** Exit code for a recorded result, when the typed error is not at hand (`check`). */
export function exitCodeOfResult(result: CheckResult): 0 | 1 | 75 {
  if (['up-to-date', 'deployed', 'held', 'stopped'].includes(result)) return 0;
  return result === 'busy' ? 75 : 1;
}
