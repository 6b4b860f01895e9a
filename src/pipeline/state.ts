import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { makePrivateDir, privateFileMode } from '../util/modes.js';
import { diskError, onDisk } from '../util/disk-errors.js';
import { stateShapeProblem } from './state-shape.js';

/** What is known about one release. */
export interface ReleaseRecord {
  /** Remote version it was built from (`adopted` for a directory found at `current`). */
  version: string;
  /** Digest of its content (archive sha256, git tree id). */
  contentId?: string;
  /** ISO time it was published. */
  createdAt: string;
  /** `good` once its post-update hooks passed; `failed` when reverted. */
  status: 'good' | 'failed';
  /** Facts for status: ETag, commit, trusted comment. */
  detail?: Record<string, string>;
  /** A directory found at `current` before the first deploy: kept for ever. */
  adopted?: boolean;
  /** What it was built from (`sourceKeyOf`); same version and same source = up to date. */
  sourceKey?: string;
}

/** The result of the last check, for `status`. */
export interface CheckRecord {
  at: string;
  result: CheckResult;
  version?: string;
  /** Release current pointed at afterwards. */
  releaseId?: string;
  error?: string;
}

/** Outcome names used in state, logs and `status`. */
export type CheckResult =
  /** The rollout group is paused (`fleet pause`); retried at the next check. */
  | 'paused'
  | 'up-to-date'
  | 'deployed'
  /** A dry run found a version to deploy (it deployed nothing). */
  | 'would-deploy'
  | 'held'
  | 'blocked'
  | 'reverted'
  | 'failed'
  | 'backing-off'
  | 'stopped'
  /** The fleet quarantined this version (another host reverted it). */
  | 'quarantined'
  /** No rollout slot came free in time; retried at the next check. */
  | 'busy'
  /** A new version is due but the deploy window is closed; nothing changed. */
  | 'outside-window'
  /** The fleet quarantined the current version: this host returned to its previous release. */
  | 'rolled-back';

/** A version that failed, and when it may be tried again. */
export interface FailingRecord {
  version: string;
  failures: number;
  lastFailureAt: string;
  nextTryAt: string;
  reason: string;
  /** The source the version failed from: the same version of another source is not backed off. */
  sourceKey?: string;
}

/** An update between publishing and confirmation; recovery reads it after a crash. */
export interface InProgressRecord {
  releaseId: string;
  version: string;
  /**
   * `pre-update`: published, not yet current. `swapped`: current may point at it.
   * `baking`: current, post-update hooks passed, validated until `bakeUntil` before it is
   * confirmed (recovery resumes the bake instead of running the post-update hooks again).
   */
  phase: 'pre-update' | 'swapped' | 'baking';
  /** ISO time the bake ends (phase `baking`). */
  bakeUntil?: string;
  /** ISO time of the last validation that passed (phase `baking`). */
  validatedAt?: string;
  /** The release current pointed at before, or null on a first deploy. */
  previous: string | null;
  /** What the release record will hold once settled. */
  contentId?: string;
  detail?: Record<string, string>;
}

/** Everything the agent remembers about one app, in `<deploy dir>/.repo-deploy/state.json`. */
export interface AppState {
  releases: Record<string, ReleaseRecord>;
  /** Release `current` is meant to point at (recovery restores the link from it). */
  current?: string;
  /** The release before the current one: the revert target, never pruned. */
  previous?: string;
  /** A newer version whose content equals the current release (no new release was made). */
  seen?: { version: string; releaseId: string };
  lastCheck?: CheckRecord;
  lastSuccessAt?: string;
  failing?: FailingRecord;
  inProgress?: InProgressRecord;
  /**
   * Set by `rollback`: the release held as current and the remote versions it was rolled back
   * from, which are not redeployed until the remote changes or `resume` clears this.
   */
  hold?: { releaseId: string; fromVersions: string[]; at: string };
  /** Tail of the last hook run's output. */
  lastHookOutput?: string[];
  /** Set when the fleet quarantined the current version and this host returned from it. */
  rolledBack?: RolledBackRecord;
}

/** A return from a release whose version the fleet quarantined (`rollback-on-quarantine`). */
export interface RolledBackRecord {
  /** The quarantined version and the release of it this host ran. */
  version: string;
  fromRelease: string;
  /** The release returned to. */
  toRelease: string;
  /** Agent id of the host whose revert quarantined the version, and its reason. */
  by: string;
  reason: string;
  /** ISO time of the rollback. */
  at: string;
}

/** Path of the state file for a deploy directory. */
export function statePath(deployDir: string): string {
  return join(deployDir, '.repo-deploy', 'state.json');
}

/** Reads the state; a missing file is an empty state. A corrupt one is an error naming it. */
export async function readState(path: string): Promise<AppState> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { releases: {} };
    throw new Error(`error reading state ${path}: ${(error as Error).message}`, { cause: error });
  }
  let state: AppState;
  try {
    state = JSON.parse(text) as AppState;
  } catch (error) {
    throw new Error(`state file ${path} is corrupt (${(error as Error).message}): move it aside and run again; releases and current are kept`, { cause: error });
  }
  const problem = stateShapeProblem(state);
  if (problem) throw new Error(`state file ${path} is not a repo-deploy state (${problem}): move it aside and run again; releases and current are kept`);
  state.releases ??= {};
  return state;
}

/**
 * Writes the state atomically: a temp file, fsync, rename. A crash leaves the old or the new
 * state, never half of one.
 */
export async function writeState(path: string, state: AppState): Promise<void> {
  // Private: state names versions, hook output and errors; 0600 whatever the umask.
  await onDisk(path, () => makePrivateDir(dirname(path), { readableParents: true }));
  const temp = `${path}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
  const handle = await onDisk(path, () => open(temp, 'w', privateFileMode));
  try {
    try {
      await handle.writeFile(`${JSON.stringify(state, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    // A full disk fails the write: the half-written temp file must not pile up run after run.
    await unlink(temp).catch(() => undefined);
    throw diskError(error, path);
  }
}
