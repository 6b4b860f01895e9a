import type { AppState, FailingRecord } from './state.js';

/** What to do after a check (pure decision; `update.ts` carries it out). */
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

/** Decides whether an observed version needs deploying. */
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
