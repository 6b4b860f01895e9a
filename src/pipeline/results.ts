import { RepoDeployError } from '../errors.js';
import type { CheckOutcome } from './check.js';
import type { CheckResult } from './state.js';

/**
 * What each check result means, in one table: the CLI's exit code, `/healthz`, the metrics and
 * the line `-f` and `check` print. `satisfies` makes the build fail when a result is added
 * without deciding every column.
 */

/** How one result counts everywhere it is reported. */
export interface ResultMeaning {
  /** Exit code of `-f` and `check` when no typed error gives its own. */
  exitCode: 0 | 1 | 75;
  /**
   * `/healthz`: the host runs what it should (the remote's version, or the release a rollback
   * holds), or stays on its good current release for a reason that is not its own (a stop at
   * the safe point, a version another host reverted, a busy rollout).
   */
  healthy: boolean;
  /** Metrics: the app runs what it should (`repo_deploy_last_success_timestamp_seconds`). */
  success: boolean;
  /** Metrics: an update was attempted (`repo_deploy_deploys_total`). */
  attempt: boolean;
  /**
   * Metrics: the outcome's version is the one current holds (after a failure it is the version
   * that failed; while a rollback holds, the one rolled back from).
   */
  versionIsCurrent: boolean;
  /** The line printed for an outcome with this result. */
  words(o: CheckOutcome): string;
}

const where = (o: CheckOutcome) => (o.releaseId ? ` (release ${o.releaseId})` : '');
const failure = (o: CheckOutcome) => `${o.app}: ${o.result}: ${o.error?.message ?? ''}`;
const failed = { exitCode: 1, healthy: false, success: false, attempt: true, versionIsCurrent: false, words: failure } as const;

/** The meaning of every result. */
export const results = {
  'up-to-date': { exitCode: 0, healthy: true, success: true, attempt: false, versionIsCurrent: true, words: (o) => `${o.app}: up to date at ${o.version}${where(o)}` },
  deployed: { exitCode: 0, healthy: true, success: true, attempt: true, versionIsCurrent: true, words: (o) => `${o.app}: deployed ${o.version}${where(o)}` },
  // A dry run changes nothing and is never recorded: only its exit code and words are used.
  'would-deploy': { exitCode: 0, healthy: true, success: false, attempt: false, versionIsCurrent: false, words: (o) => `${o.app}: would deploy ${o.version}` },
  held: {
    exitCode: 0, healthy: true, success: true, attempt: false, versionIsCurrent: false,
    words: (o) => `${o.app}: held at release ${o.releaseId} by a rollback (remote still at ${o.version}); repo-deploy resume lifts it`,
  },
  stopped: { exitCode: 0, healthy: true, success: false, attempt: true, versionIsCurrent: false, words: (o) => `${o.app}: stopped at a safe point (before the swap: nothing changed; or during a bake: the next start finishes it)` },
  blocked: failed,
  reverted: failed,
  // Counted as an attempt only with a version, i.e. past the remote check (see `AgentMetrics`).
  failed,
  'backing-off': { ...failed, attempt: false },
  quarantined: { exitCode: 1, healthy: true, success: false, attempt: false, versionIsCurrent: false, words: failure },
  busy: { exitCode: 75, healthy: true, success: false, attempt: true, versionIsCurrent: false, words: failure },
  // A paused rollout group (`fleet pause`) is an operator's choice: the host runs its good release.
  paused: { exitCode: 0, healthy: true, success: true, attempt: false, versionIsCurrent: false, words: (o) => `${o.app}: ${o.version} not started: the rollout group is paused (repo-deploy fleet resume)` },
  // A new version waits for the deploy window: the host runs its good release, as configured.
  'outside-window': {
    exitCode: 0, healthy: true, success: true, attempt: false, versionIsCurrent: false,
    words: (o) => `${o.app}: ${o.version} not started: outside the deploy window; next opening ${o.nextTryAt ?? 'never'}`,
  },
  // Back on the previous good release after the fleet quarantined the current version.
  'rolled-back': {
    exitCode: 0, healthy: true, success: true, attempt: true, versionIsCurrent: false,
    words: (o) => `${o.app}: rolled back to release ${o.releaseId}: ${o.version} was quarantined by the fleet`,
  },
} satisfies Record<CheckResult, ResultMeaning>;

/** Every result, in the table's order. */
export const allResults = Object.keys(results) as CheckResult[];

/** Exit code for a recorded result, when the typed error is not at hand (`check`). */
export function exitCodeOfResult(result: CheckResult): 0 | 1 | 75 {
  return results[result].exitCode;
}

/** Exit code for an outcome: the typed error's own, when the result is not a success. */
export function exitCodeOfOutcome(outcome: CheckOutcome): 0 | 1 | 2 | 75 {
  const code = exitCodeOfResult(outcome.result);
  if (code === 0) return 0;
  return outcome.error instanceof RepoDeployError ? outcome.error.exitCode : code;
}

/** The line `-f` and `check` print for an outcome. */
export function describeOutcome(o: CheckOutcome): string {
  return results[o.result].words(o);
}
