import type { AppState, FailingRecord } from './state.js';

/** What to do after a check (pure decision; `update.ts` carries it out). */
export type CheckPlan =
  | { action: 'up-to-date'; releaseId: string }
  /** A rollback holds the current release against this (unchanged) remote version. */
  | { action: 'held'; releaseId: string }
  | { action: 'backing-off'; version: string; nextTryAt: Date; reason: string }
  | { action: 'deploy'; version: string; previous: string | null };

/** The facts a plan is made from. */
export interface PlanInput {
  /** Version the remote has now. */
  observed: string;
  /** Release `current` points at, or null (nothing deployed, or a real directory). */
  currentRelease: string | null;
  state: AppState;
  now: Date;
}

/** Decides whether an observed version needs deploying. */
export function planCheck(input: PlanInput): CheckPlan {
  const { observed, currentRelease, state, now } = input;
  if (currentRelease !== null) {
    const record = state.releases[currentRelease];
    const seen = state.seen?.releaseId === currentRelease ? state.seen.version : undefined;
    if (record?.version === observed || seen === observed) return { action: 'up-to-date', releaseId: currentRelease };
  }
  if (currentRelease !== null && state.hold?.releaseId === currentRelease && state.hold.fromVersions.includes(observed)) {
    return { action: 'held', releaseId: currentRelease };
  }
  const failing = state.failing;
  if (failing && failing.version === observed && now < new Date(failing.nextTryAt)) {
    return { action: 'backing-off', version: observed, nextTryAt: new Date(failing.nextTryAt), reason: failing.reason };
  }
  return { action: 'deploy', version: observed, previous: currentRelease };
}

/** Longest wait between tries of a failing version. */
export const maxBackoffMs = 3_600_000;

/**
 * Records one more failure of `version`. The first failure is retried at the next scheduled
 * check; after that the wait doubles from 2 minutes up to an hour, so a broken build does not
 * restart the app every minute. A different version starts from zero.
 */
export function recordFailure(previous: FailingRecord | undefined, version: string, reason: string, now: Date): FailingRecord {
  const failures = previous?.version === version ? previous.failures + 1 : 1;
  const waitMs = failures === 1 ? 0 : Math.min(maxBackoffMs, 60_000 * 2 ** (failures - 1));
  return {
    version,
    failures,
    lastFailureAt: now.toISOString(),
    nextTryAt: new Date(now.getTime() + waitMs).toISOString(),
    reason,
  };
}
