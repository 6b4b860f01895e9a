import { UpdateFailedError, messageOf } from '../errors.js';
import type { Refusal } from '../fleet/coordinator.js';
import type { Observation } from '../remotes/types.js';
import type { DeployResult } from './activate.js';
import { activate } from './activate.js';
import type { CheckOutcome } from './check.js';
import type { RunContext } from './context.js';
import { deploy } from './deploy.js';
import { recordFailure, resultOfRefusal, type UpdatePlan } from './plan.js';
import { recordHold } from './releases-on-disk.js';
import type { CheckResult } from './state.js';
import type { Transition } from './transitions.js';
import { apply } from './transitions.js';

/** How a check ended, and the transitions to record with its result. */
export interface Carried {
  outcome: Omit<CheckOutcome, 'app'>;
  /** Applied and saved together with the check's result. */
  transitions: Transition[];
}

/** A plan that changes `current`: reuse a release on disk, or fetch and deploy. */
export type UpdatingPlan = Extract<UpdatePlan, { action: 'reuse' | 'deploy' }>;

/**
 * Carries out a `reuse` or `deploy` plan: the fleet's screening (before any download), the end
 * of a rollback's hold, then the fetch, hooks, swap and confirm steps. Every failure becomes
 * an outcome; a failure of the version itself backs it off.
 */
export async function carryOut(ctx: RunContext, plan: UpdatingPlan, observation: Observation): Promise<Carried> {
  const { version } = plan;
  // Screened before fetching, so a quarantined version costs no download and no hooks.
  const screened = await ctx.coordinator.screen(version);
  if (screened.verdict !== 'go') return refused(ctx, version, screened);
  try {
    const before: Transition[] = [...(plan.condemn ? [{ name: 'condemned' as const, releaseId: plan.condemn }] : [])];
    if (plan.endsHold && ctx.state.hold) {
      // A new remote version ends a rollback's hold.
      await recordHold(ctx.store, ctx.state.hold.releaseId, undefined);
      before.push({ name: 'unheld' });
    }
    if (before.length) await apply(ctx, ...before);
    const done = await run(ctx, plan, observation);
    if (done.result === 'refused') return refused(ctx, version, done.refusal);
    if (done.result === 'stopped') return { outcome: { result: 'stopped', version }, transitions: [] };
    return { outcome: { result: done.result, version, releaseId: done.releaseId }, transitions: [] };
  } catch (error) {
    return failed(ctx, version, error);
  }
}

/** The fetch (deploy only), hooks, swap and confirm steps. */
async function run(ctx: RunContext, plan: UpdatingPlan, observation: Observation): Promise<DeployResult> {
  const { state, logger } = ctx;
  const log = logger.child({ version: plan.version });
  if (plan.action === 'reuse') {
    log.info({ release: plan.releaseId, previous: plan.previous }, 'version already on disk as a good release, activating it again');
    const reused = state.releases[plan.releaseId]!;
    const pending = { releaseId: plan.releaseId, version: plan.version, phase: 'pre-update' as const, previous: plan.previous, ...(reused.contentId ? { contentId: reused.contentId } : {}), ...(reused.detail ? { detail: reused.detail } : {}) };
    return activate(ctx, pending, { discardOnBlock: false });
  }
  log.info({ previous: plan.previous, ...observation.detail }, plan.repair ? 'redeploying to repair current' : 'new version, deploying');
  return deploy(ctx, observation, plan);
}

/** The fleet did not let this host deploy: not the version's fault, no back-off. */
async function refused(ctx: RunContext, version: string, refusal: Refusal): Promise<Carried> {
  const result = resultOfRefusal(refusal);
  if (refusal.verdict === 'stopped') return { outcome: { result, version }, transitions: [] };
  ctx.logger.warn({ version, err: refusal.error.message, result }, 'update not deployed: fleet coordination');
  return { outcome: { result, version, error: refusal.error, ...(await linked(ctx)) }, transitions: [] };
}

/** The update failed: the version is backed off. */
async function failed(ctx: RunContext, version: string, error: unknown): Promise<Carried> {
  const result: CheckResult = error instanceof UpdateFailedError ? error.reason : 'failed';
  const failing = recordFailure(ctx.state.failing, version, messageOf(error), ctx.now(), ctx.sourceKey);
  ctx.logger.error({ version, err: messageOf(error), result, nextTryAt: failing.nextTryAt }, 'update failed');
  const outcome = { result, version, error: error instanceof Error ? error : new Error(String(error)), nextTryAt: failing.nextTryAt, ...(await linked(ctx)) };
  return { outcome, transitions: [{ name: 'failed', failing }] };
}

/** The release `current` points at now, for the outcome. */
async function linked(ctx: RunContext): Promise<{ releaseId?: string }> {
  const current = await ctx.store.current();
  return current.kind === 'release' ? { releaseId: current.id } : {};
}
