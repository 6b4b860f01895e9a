import type { AppState, CheckRecord, FailingRecord, InProgressRecord, ReleaseRecord } from './state.js';
import type { RunContext } from './context.js';

/**
 * Every change of an app's state, by name. `change` applies one to a state in memory (pure but
 * for mutating its argument); `apply` (in `apply.ts`) changes the run's state, saves it and
 * tells listeners. Code elsewhere reads the state but never writes it.
 */
export type Transition =
  /** The check's result, for `status`. */
  | { name: 'checked'; record: CheckRecord }
  /** `current` points at a missing or incomplete release: it is never served or reused again. */
  | { name: 'condemned'; releaseId: string }
  /** A new remote version (or `resume`) ends a rollback's hold. */
  | { name: 'unheld' }
  /** A rollback holds `hold.releaseId` against the versions it was rolled back from. */
  | { name: 'held'; hold: NonNullable<AppState['hold']> }
  /** An update starts: recorded before its release appears, so recovery can clean up. */
  | { name: 'staged'; pending: InProgressRecord }
  /** A real directory found at `current` became a release (recorded before it moves). */
  | { name: 'adopted'; releaseId: string; record: ReleaseRecord }
  /** The update's `previous` became known (after adopting a directory). */
  | { name: 'rebased'; previous: string | null }
  /** The pending update passed its pre-update hooks and is about to become current. */
  | { name: 'swapped' }
  /** Post-update hooks passed: the release is good and current. */
  | { name: 'confirmed'; releaseId: string; record: ReleaseRecord; previous: string | null; at: string; hookOutput?: string[] }
  /** Post-update hooks failed: the release is failed, `restored` is current again (or nothing). */
  | { name: 'reverted'; releaseId: string; record: ReleaseRecord; restored: string | null; hookOutput?: string[] }
  /** A pre-update hook failed (its output given), or the release was not whole: the update ends before the swap. */
  | { name: 'blocked'; hookOutput?: string[] }
  /** The run was asked to stop before the swap. */
  | { name: 'stopped'; hookOutput?: string[] }
  /** The pending update was dropped before its release could be used (I/O error, crash). */
  | { name: 'discarded' }
  /** A new version has the same content as the current release: no new release. */
  | { name: 'seen'; version: string; releaseId: string }
  /** A version failed: it is backed off. */
  | { name: 'failed'; failing: FailingRecord }
  /** Releases beyond retention were removed. */
  | { name: 'pruned'; releaseIds: string[] }
  /** Records brought in line with the releases on disk (rebuilt, forgotten, given a source). */
  | { name: 'reconciled'; view: Reconciliation };

/** The fields of the state that reconciling with the disk may change. */
export type Reconciliation = Pick<AppState, 'releases' | 'current' | 'previous' | 'hold'>;

/** The names of all transitions. */
export type TransitionName = Transition['name'];

/** Applies `t` to `state` in place. */
export function change(state: AppState, t: Transition): void {
  switch (t.name) {
    case 'checked':
      state.lastCheck = t.record;
      return;
    case 'condemned':
      if (state.releases[t.releaseId]) state.releases[t.releaseId]!.status = 'failed';
      return;
    case 'unheld':
      delete state.hold;
      return;
    case 'held':
      state.hold = t.hold;
      return;
    case 'staged':
      state.inProgress = t.pending;
      return;
    case 'adopted':
      state.releases[t.releaseId] = t.record;
      state.current = t.releaseId;
      return;
    case 'rebased':
      if (state.inProgress) state.inProgress = { ...state.inProgress, previous: t.previous };
      return;
    case 'swapped':
      if (state.inProgress) state.inProgress = { ...state.inProgress, phase: 'swapped' };
      return;
    default:
      settle(state, t);
  }
}

/** The transitions that end an update or record what a check found. */
function settle(state: AppState, t: Exclude<Transition, { name: 'checked' | 'condemned' | 'unheld' | 'held' | 'staged' | 'adopted' | 'rebased' | 'swapped' }>): void {
  switch (t.name) {
    case 'confirmed':
      state.releases[t.releaseId] = t.record;
      state.current = t.releaseId;
      setOrDelete(state, 'previous', t.previous ?? undefined);
      setOrDelete(state, 'lastHookOutput', t.hookOutput);
      delete state.inProgress;
      delete state.seen;
      delete state.failing;
      state.lastSuccessAt = t.at;
      return;
    case 'reverted':
      state.releases[t.releaseId] = t.record;
      setOrDelete(state, 'current', t.restored ?? undefined);
      setOrDelete(state, 'lastHookOutput', t.hookOutput);
      delete state.inProgress;
      return;
    case 'blocked':
    case 'stopped':
      // Without hook output (the hooks passed, then the release was found broken or a stop
      // came), the last hook output stays as it was.
      if ('hookOutput' in t) setOrDelete(state, 'lastHookOutput', t.hookOutput);
      delete state.inProgress;
      return;
    case 'discarded':
      delete state.inProgress;
      return;
    case 'seen':
      state.seen = { version: t.version, releaseId: t.releaseId };
      delete state.failing;
      return;
    case 'failed':
      state.failing = t.failing;
      return;
    case 'pruned':
      for (const id of t.releaseIds) delete state.releases[id];
      return;
    case 'reconciled':
      state.releases = t.view.releases;
      for (const key of ['current', 'previous', 'hold'] as const) setOrDelete(state, key, t.view[key]);
  }
}

function setOrDelete<K extends keyof AppState>(state: AppState, key: K, value: AppState[K] | undefined): void {
  if (value === undefined) delete state[key];
  else state[key] = value;
}

/** What `apply` needs of a run. */
export type Applier = Pick<RunContext, 'app' | 'state' | 'save' | 'events'>;

/**
 * The one place the state of a run changes: applies the transitions in order, saves the state
 * once, then tells `events.onTransition` (history, notifications). A failed save leaves the
 * transitions applied in memory and throws; listeners hear only of saved changes.
 */
export async function apply(ctx: Applier, ...transitions: Transition[]): Promise<void> {
  for (const t of transitions) change(ctx.state, t);
  await ctx.save();
  for (const t of transitions) ctx.events.onTransition?.(ctx.app.name, t, ctx.state);
}
