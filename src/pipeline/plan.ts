import type { Refusal } from '../fleet/coordinator.js';
import type { LinkState } from '../release/store.js';
import type { AppState, CheckResult, FailingRecord } from './state.js';

/**
 * The update's decisions, computed purely from the state and what a check observed: whether
 * to deploy at all (`planCheck`), how (`planUpdate`), whether a fetched version is worth a
 * release (`planFetched`), what a fleet refusal means (`resultOfRefusal`), and how long a failing
 * version waits (`recordFailure`). `check.ts` and `update.ts` carry them out.
 */

/** Whether an observed version needs deploying. */
export type CheckPlan =
  | { action: 'up-to-date'; releaseId: string }
  /** A rollback holds the current release against this (unchanged) remote version. */
  | { action: 'held'; releaseId: string }
  | { action: 'backing-off'; version: string; nextTryAt: Date; reason: string }
  /** A good release of this source and version is still on disk: activate it, fetch nothing. */
  | { action: 'reuse'; version: string; releaseId: string; previous: string | null }
  | { action: 'deploy'; version: string; previous: string | null };

/** The facts a plan is made from. */
export interface PlanInput {
  /** Version the remote has now. */
  observed: string;
  /**
   * Release `current` points at, or null (nothing deployed, a real directory, or a release
   * that is missing or incomplete on disk: that one is redeployed).
   */
  currentRelease: string | null;
  /** The configured source (`sourceKeyOf`): a release of another source is never up to date. */
  sourceKey: string;
  /** Releases verified complete on disk: the only ones that may be activated again. */
  intact: ReadonlySet<string>;
  state: AppState;
  now: Date;
  /** `retry`: deploy a failing version now instead of waiting for its back-off. */
  ignoreBackoff?: boolean;
}

/** Decides whether an observed version needs deploying (the first decision of `planUpdate`). */
export function planCheck(input: PlanInput): CheckPlan {
  const { observed, currentRelease, state, now, sourceKey } = input;
  const sameSource = (id: string) => state.releases[id]?.sourceKey === sourceKey;
  if (currentRelease !== null && sameSource(currentRelease)) {
    const record = state.releases[currentRelease];
    const seen = state.seen?.releaseId === currentRelease ? state.seen.version : undefined;
    if (record?.version === observed || seen === observed) return { action: 'up-to-date', releaseId: currentRelease };
    if (state.hold?.releaseId === currentRelease && state.hold.fromVersions.includes(observed)) {
      return { action: 'held', releaseId: currentRelease };
    }
  }
  const failing = state.failing;
  const failingHere = failing && failing.version === observed && (failing.sourceKey ?? sourceKey) === sourceKey;
  if (failingHere && !input.ignoreBackoff && now < new Date(failing.nextTryAt)) {
    return { action: 'backing-off', version: observed, nextTryAt: new Date(failing.nextTryAt), reason: failing.reason };
  }
  // Newest first: a version deployed twice (a revert, then a fix of the hooks) reuses the last.
  const onDisk = Object.keys(state.releases)
    .filter((id) => id !== currentRelease && input.intact.has(id) && sameSource(id))
    .filter((id) => state.releases[id]!.status === 'good' && state.releases[id]!.version === observed)
    .sort()
    .pop();
  if (onDisk) return { action: 'reuse', version: observed, releaseId: onDisk, previous: currentRelease };
  return { action: 'deploy', version: observed, previous: currentRelease };
}

/** What a check observed, for `planUpdate`. */
export interface Observed {
  /** Version the remote has now. */
  version: string;
  /** What `current` is on disk. */
  link: LinkState;
  /** Why the linked release cannot be served (missing, incomplete, unknown), or null. */
  broken: string | null;
  /** Releases verified complete on disk among those a plan may activate or revert to. */
  intact: ReadonlySet<string>;
}

/** How a check goes on, with everything carrying it out needs. */
export type UpdatePlan = { condemn: string | null } & (
  | Exclude<CheckPlan, { action: 'reuse' | 'deploy' }>
  /** A dry run stops here: what would be done. */
  | { action: 'would-deploy'; version: string; reuse: string | null; previous: string | null }
  /** Activate a good release of this version still on disk. */
  | { action: 'reuse'; version: string; releaseId: string; previous: string | null; endsHold: boolean }
  /** Fetch and deploy. `sameContentAs`: a release whose content makes this version a no-op. */
  | { action: 'deploy'; version: string; previous: string | null; endsHold: boolean; repair: boolean; adoptDirectory: boolean; sameContentAs: string | null }
);

/** The facts besides the observation. */
export interface UpdateContext {
  state: AppState;
  sourceKey: string;
  now: Date;
  /** Deploy a failing version now instead of waiting for its back-off. */
  retry?: boolean;
  /** Change nothing: plan `would-deploy` instead of deploying. */
  dryRun?: boolean;
}

/** Plans a whole check: every decision taken before the fleet and the remote are asked again. */
export function planUpdate(seen: Observed, facts: UpdateContext): UpdatePlan {
  const { state, sourceKey } = facts;
  const linked = seen.link.kind === 'release' ? seen.link.id : null;
  // Never served or reused again: the repair makes a new release, and it is pruned first.
  const condemn = seen.broken && linked && state.releases[linked] ? linked : null;
  const current = seen.broken ? null : linked;
  const plan = planCheck({ observed: seen.version, currentRelease: current, sourceKey, intact: seen.intact, state, now: facts.now, ...(facts.retry ? { ignoreBackoff: true } : {}) });
  if (plan.action !== 'reuse' && plan.action !== 'deploy') return { ...plan, condemn };
  // A repair (or a source change) reverts to the last intact release, never to a broken one.
  const previous = current ?? (state.previous && seen.intact.has(state.previous) ? state.previous : null);
  if (facts.dryRun) return { action: 'would-deploy', version: seen.version, reuse: plan.action === 'reuse' ? plan.releaseId : null, previous: plan.previous, condemn };
  const endsHold = Boolean(state.hold);
  if (plan.action === 'reuse') return { ...plan, previous, endsHold, condemn };
  const sameSource = current !== null && state.releases[current]?.sourceKey === sourceKey;
  return { action: 'deploy', version: seen.version, previous, endsHold, repair: Boolean(seen.broken), adoptDirectory: seen.link.kind === 'directory', sameContentAs: sameSource ? current : null, condemn };
}

/**
 * What to do with a fetched (or announced) content: `same-content` when it equals the current
 * release's (a monorepo commit that left our subdirectory alone costs no release), `empty` when
 * it holds no regular file, else `publish`.
 */
export function planFetched(currentContent: string | undefined, contentId: string | undefined, files?: number): 'same-content' | 'empty' | 'publish' {
  if (currentContent !== undefined && contentId === currentContent) return 'same-content';
  return files === 0 ? 'empty' : 'publish';
}

/** The result a fleet refusal gives a check. None is the version's fault: no back-off. */
export function resultOfRefusal(refusal: Refusal): CheckResult {
  switch (refusal.verdict) {
    case 'quarantined':
      return 'quarantined';
    case 'busy':
      return 'busy';
    case 'stopped':
      return 'stopped';
    case 'unavailable':
      return 'failed';
  }
}

/** Longest wait between tries of a failing version. */
export const maxBackoffMs = 3_600_000;

/**
 * Records one more failure of `version`. The first failure is retried at the next scheduled
 * check; after that the wait doubles from 2 minutes up to an hour, so a broken build does not
 * restart the app every minute. A different version starts from zero.
 */
export function recordFailure(previous: FailingRecord | undefined, version: string, reason: string, now: Date, sourceKey?: string): FailingRecord {
  const same = previous?.version === version && (previous.sourceKey ?? sourceKey) === sourceKey;
  const failures = same ? previous.failures + 1 : 1;
  const waitMs = failures === 1 ? 0 : Math.min(maxBackoffMs, 60_000 * 2 ** (failures - 1));
  return {
    version,
    failures,
    lastFailureAt: now.toISOString(),
    nextTryAt: new Date(now.getTime() + waitMs).toISOString(),
    reason,
    ...(sourceKey !== undefined ? { sourceKey } : {}),
  };
}
