import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HookError, UpdateFailedError, VerificationError, messageOf } from '../errors.js';
import { HookRunError, outputTailOf, runHooks, type HookRunResult, type RunHooksOptions } from '../hooks/index.js';
// Not '../fleet/index.js': that loads the etcd client, which hosts without a fleet never pay for.
import { VersionQuarantinedError } from '../fleet/errors.js';
import { enterRollout, leaveRollout, type RolloutDecision } from '../fleet/rollout-gate.js';
import type { Slot } from '../fleet/types.js';
import { makeReleaseId } from '../release/release-id.js';
import { planPrune } from '../release/retention.js';
import { metaPathOf, topEntries, writeMeta } from '../release/release-meta.js';
import type { Observation } from '../remotes/types.js';
import { recordReleaseFiles, releaseFilesFor, removeStaging } from '../reuse/release-files.js';
import type { RunContext } from './context.js';
import { hookEnv, type HookEnvInput } from './hook-env.js';
import { incompleteReason, settleMeta } from './releases-on-disk.js';
import type { InProgressRecord } from './state.js';

/** How a deploy ended when it did not throw. */
export type DeployResult = { result: 'deployed'; releaseId: string } | { result: 'up-to-date'; releaseId: string } | { result: 'stopped' };

/** Where a deploy starts from, as the check found it. */
export interface DeployTarget {
  /** The revert target and the new release's `previous`: null on a first deploy. */
  previous: string | null;
  /** `current` is a real directory from before repo-deploy: it becomes a release first. */
  adoptDirectory: boolean;
  /**
   * The intact current release of the same source: a version whose content equals it makes no
   * release (the monorepo no-op). Null when there is none, or when current is being repaired.
   */
  sameContentAs: string | null;
}

/**
 * Deploys `observation.version` (DESIGN §6 steps 3–7): stage and fetch, publish, pre-update
 * hooks, swap, post-update hooks, and revert on their failure. Throws `UpdateFailedError`
 * (blocked, reverted), `RemoteError` or `VerificationError`; the caller records failures.
 */
export async function deploy(ctx: RunContext, observation: Observation, target: DeployTarget): Promise<DeployResult> {
  const { store, state, logger } = ctx;
  const version = observation.version;
  const currentId = target.sameContentAs;
  const currentContent = currentId ? state.releases[currentId]?.contentId : undefined;

  if (currentId && currentContent && ctx.remote.contentIdOf) {
    // Monorepo case: a new commit that leaves our subdirectory alone costs no release.
    if ((await ctx.remote.contentIdOf(version, ctx.remoteCtx)) === currentContent) return recordSeen(ctx, version, currentId);
  }

  const staging = await store.createStaging();
  let fetched;
  const fetchStarted = Date.now();
  try {
    // Unchanged files are cloned from the current release; the files written are listed for it.
    fetched = await ctx.remote.fetch(version, staging, { ...ctx.remoteCtx, releaseFiles: releaseFilesFor(ctx.app, store.releasesDir, staging, target.previous) });
    ctx.events.onDownload?.(ctx.app.name, Date.now() - fetchStarted, fetched.bytesDownloaded, Number(fetched.detail?.bytesReused ?? 0));
  } catch (error) {
    await removeStaging(staging);
    throw error;
  }
  if (currentId && fetched.contentId === currentContent) {
    await removeStaging(staging);
    return recordSeen(ctx, version, currentId);
  }
  if (fetched.files === 0) {
    await removeStaging(staging);
    throw new VerificationError(`refusing version ${version} of ${ctx.remote.display}: it holds no regular file (it is empty, or only directories or symlinks); current is unchanged`);
  }
  logger.info({ version, files: fetched.files, bytesDownloaded: fetched.bytesDownloaded, ...fetched.detail }, 'fetched new version');

  const releaseId = makeReleaseId(ctx.now(), version, (id) => id in state.releases || existsSync(store.pathOf(id)));
  let previous = target.previous;
  // Recorded before the release appears, so a crash from here on is cleaned up by recovery.
  state.inProgress = {
    releaseId,
    version,
    phase: 'pre-update',
    previous,
    contentId: fetched.contentId,
    detail: { ...observation.detail, ...fetched.detail },
  };
  try {
    await ctx.save();
    // The release's own record, written before it appears: a lost state file is rebuilt from it.
    await writeMeta(store.releasesDir, {
      id: releaseId,
      version,
      source: ctx.source,
      sourceKey: ctx.sourceKey,
      contentId: fetched.contentId,
      createdAt: ctx.now().toISOString(),
      status: 'pending',
      detail: { ...observation.detail, ...fetched.detail },
      entries: await topEntries(staging),
    });
    await store.publish(staging, releaseId);
  } catch (error) {
    // A full disk fails here as easily as in the fetch: nothing published, nothing left behind.
    delete state.inProgress;
    await removeStaging(staging);
    await rm(metaPathOf(store.releasesDir, releaseId), { force: true });
    throw error;
  }

  if (target.adoptDirectory) previous = await adoptDirectory(ctx);
  ctx.state.inProgress!.previous = previous;
  if (ctx.app.owner) {
    try {
      await chownRelease(store.pathOf(releaseId), ctx.app.owner);
    } catch (error) {
      await removeStaging(staging);
      await discard(ctx, releaseId);
      throw error;
    }
  }
  await recordReleaseFiles(staging, store.releasesDir, releaseId, logger);
  return activate(ctx, ctx.state.inProgress!, { discardOnBlock: true, coordinate: true });
}

/**
 * Makes an existing, published release current the way an update does: pre-update hooks
 * (a failure blocks), swap, post-update hooks (a failure reverts). Used for new releases and
 * for rollbacks. `pending` is already recorded in the state.
 */
export async function activate(
  ctx: RunContext,
  pending: InProgressRecord,
  options: { discardOnBlock: boolean; coordinate: boolean },
): Promise<DeployResult> {
  const { store, state, logger } = ctx;
  const { releaseId, version, previous } = pending;
  state.inProgress = pending;
  const stopHere = async (): Promise<void> => {
    if (options.discardOnBlock) await discard(ctx, releaseId);
    else {
      delete state.inProgress;
      await ctx.save();
    }
  };
  try {
    // Only pre-update hooks stop early on a stop request: post-update hooks always run to
    // the end, so the app is never left half-restarted.
    await runPhase(ctx, { phase: 'pre-update', releaseId, version, previousId: previous }, ctx.signal);
  } catch (error) {
    state.lastHookOutput = outputTailOf(error);
    await stopHere();
    if (ctx.signal?.aborted && !(error instanceof HookError)) return { result: 'stopped' };
    throw new UpdateFailedError('blocked', `update to ${version} blocked by pre-update hook: ${messageOf(error)}`, { cause: error });
  }
  if (ctx.signal?.aborted) {
    // Stopping before the swap is the safe point: nothing readers see has changed.
    await stopHere();
    return { result: 'stopped' };
  }
  // A hook (or a hand) may have deleted or emptied the release: never swap to what is not whole.
  const broken = await incompleteReason(store, releaseId);
  if (broken) {
    await stopHere();
    throw new UpdateFailedError('blocked', `update to ${version} not made current: ${broken} after it was staged (by a pre-update hook?); current is unchanged`);
  }

  // With a fleet, take a rollout slot now: after the pre-update hooks passed, right before
  // the swap, so at most max-parallel hosts sit between swap and confirmed success.
  let slot: Slot | null = null;
  if (options.coordinate && ctx.fleet) {
    let decision: RolloutDecision;
    try {
      decision = await enterRollout(ctx.fleet, version, { ...(ctx.signal ? { signal: ctx.signal } : {}), deadlineMs: ctx.app.rollout!.waitMs }, logger.child({ version }));
    } catch (error) {
      await stopHere();
      if (ctx.signal?.aborted) return { result: 'stopped' };
      throw error;
    }
    if (!decision.proceed) {
      await stopHere();
      throw decision.reason === 'quarantined' ? new VersionQuarantinedError(decision.record) : decision.error;
    }
    slot = decision.slot;
  }

  state.inProgress = { ...pending, phase: 'swapped' };
  await ctx.save();
  await store.swap(releaseId);
  logger.info({ version, release: releaseId, previous }, 'swapped current to release');
  if (!options.coordinate || !ctx.fleet) return confirm(ctx, state.inProgress);
  try {
    const result = await confirm(ctx, state.inProgress);
    await leaveRollout(ctx.fleet, slot, version, { ok: true }, logger);
    return result;
  } catch (error) {
    // A revert quarantines the version for the whole group before the slot is given back.
    await leaveRollout(ctx.fleet, slot, version, { ok: false, reason: messageOf(error) }, logger);
    throw error;
  }
}

/**
 * Runs the post-update hooks of a swapped release and settles it: good, or reverted to the
 * previous release. Also used by recovery to finish an update a crash interrupted.
 */
export async function confirm(ctx: RunContext, pending: InProgressRecord): Promise<DeployResult> {
  const { store, state, logger } = ctx;
  const { releaseId, version, previous } = pending;
  const existing = state.releases[releaseId];
  const record = {
    version,
    contentId: pending.contentId,
    createdAt: existing?.createdAt ?? ctx.now().toISOString(),
    detail: pending.detail,
    sourceKey: existing?.sourceKey ?? ctx.sourceKey,
    ...(existing?.adopted ? { adopted: true } : {}),
  };
  try {
    const result = await runPhase(ctx, { phase: 'post-update', releaseId, version, previousId: previous });
    state.lastHookOutput = result.outputTail;
  } catch (error) {
    state.lastHookOutput = outputTailOf(error);
    state.releases[releaseId] = { ...record, status: 'failed' };
    await settleMeta(store, releaseId, 'failed');
    await revert(ctx, releaseId, previous);
    throw new UpdateFailedError(
      'reverted',
      `update to ${version} reverted${previous ? ` to release ${previous}` : ' (nothing deployed before)'}: ${messageOf(error)}`,
      { cause: error },
    );
  }
  await settleMeta(store, releaseId, 'good');
  state.releases[releaseId] = { ...record, status: 'good' };
  state.current = releaseId;
  if (previous) state.previous = previous;
  else delete state.previous;
  delete state.inProgress;
  delete state.seen;
  delete state.failing;
  state.lastSuccessAt = ctx.now().toISOString();
  await ctx.save();
  logger.info({ version, release: releaseId }, 'deployed');
  await prune(ctx);
  return { result: 'deployed', releaseId };
}

/** Swaps back to `previous` (or removes `current` on a first deploy) and re-runs its post hooks. */
async function revert(ctx: RunContext, failedId: string, previous: string | null): Promise<void> {
  const { store, state, logger } = ctx;
  await store.swap(previous);
  if (previous) state.current = previous;
  else delete state.current;
  delete state.inProgress;
  await ctx.save();
  logger.warn({ release: failedId, restored: previous }, previous ? 'post-update hooks failed, reverted to previous release' : 'post-update hooks failed on a first deploy, removed current');
  if (!previous) return;
  // The app restarts on the old code: the same post-update hooks run for the restored release.
  const version = state.releases[previous]?.version ?? 'unknown';
  try {
    await runPhase(ctx, { phase: 'post-update', releaseId: previous, version, previousId: failedId, revert: true });
  } catch (error) {
    logger.error({ release: previous, err: messageOf(error) }, 'post-update hooks failed again for the restored release; it stays current');
  }
}

/**
 * Runs one phase's hooks for a release (cwd = the release, environment from `hookEnv`),
 * reporting their durations — of the hooks that ran, also on failure.
 */
async function runPhase(ctx: RunContext, input: HookEnvInput, signal?: AbortSignal): Promise<HookRunResult> {
  const options: RunHooksOptions = {
    dirs: hookDirs(ctx, input.phase, input.releaseId),
    phase: input.phase,
    cwd: ctx.store.pathOf(input.releaseId),
    env: hookEnv(ctx, input),
    timeoutMs: ctx.app.hookTimeoutMs,
    outputLimitBytes: ctx.app.hookOutputLimitBytes,
    logger: ctx.logger.child({ version: input.version }),
    ...(signal ? { signal } : {}),
  };
  try {
    const result = await runHooks(options);
    ctx.events.onHooks?.(ctx.app.name, options.phase, result.ran);
    return result;
  } catch (error) {
    if (error instanceof HookRunError) ctx.events.onHooks?.(ctx.app.name, options.phase, error.ran);
    throw error;
  }
}

/**
 * The hook directories of a phase: the host's, then (with `release-hooks = true`) the
 * release's own `.repo-deploy/<phase>.d`, under the same rules.
 */
function hookDirs(ctx: RunContext, phase: 'pre-update' | 'post-update', releaseId: string): string[] {
  const host = phase === 'pre-update' ? ctx.app.preHooks : ctx.app.postHooks;
  return ctx.app.releaseHooks ? [host, join(ctx.store.pathOf(releaseId), '.repo-deploy', `${phase}.d`)] : [host];
}

/** Gives a staged release to `owner` (`user[:group]`) before any hook sees it. */
async function chownRelease(dir: string, owner: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('chown', ['-R', '--no-dereference', owner, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`error giving release ${dir} to ${owner}: ${stderr.trim() || `chown exited ${code}`}`))));
  });
}

/** Records that `version` has the same content as the current release: no new release. */
async function recordSeen(ctx: RunContext, version: string, currentId: string): Promise<DeployResult> {
  ctx.state.seen = { version, releaseId: currentId };
  delete ctx.state.failing;
  await ctx.save();
  ctx.logger.info({ version, release: currentId }, 'new version has the same content as the current release, nothing to deploy');
  return { result: 'up-to-date', releaseId: currentId };
}

/** Removes a published release that never became current, and forgets it. */
async function discard(ctx: RunContext, releaseId: string): Promise<void> {
  await ctx.store.remove(releaseId);
  delete ctx.state.inProgress;
  await ctx.save();
}

/** Makes a real directory found at `current` a release (kept, never deleted). */
async function adoptDirectory(ctx: RunContext): Promise<string> {
  const id = makeReleaseId(ctx.now(), 'adopted', (i) => i in ctx.state.releases);
  const createdAt = ctx.now().toISOString();
  ctx.state.releases[id] = { version: 'adopted', createdAt, status: 'good', adopted: true, sourceKey: 'adopted' };
  // Recorded as current first: if we die between the two renames, recovery re-creates the link.
  ctx.state.current = id;
  await ctx.save();
  await ctx.store.adoptDirectory(id);
  const source = { kind: 'adopted', location: ctx.app.local, settings: {} };
  await writeMeta(ctx.store.releasesDir, { id, version: 'adopted', source, sourceKey: 'adopted', createdAt, status: 'good', entries: await topEntries(ctx.store.pathOf(id)), adopted: true });
  ctx.logger.info({ release: id }, 'kept the existing directory at current as a release');
  return id;
}

/** Removes releases beyond retention (never the current or previous one). */
async function prune(ctx: RunContext): Promise<void> {
  const { state } = ctx;
  // An adopted directory held the host's files before repo-deploy: never pruned (DESIGN §5).
  const releases = Object.entries(state.releases)
    .filter(([, r]) => !r.adopted)
    .map(([id, r]) => ({ id, status: r.status, createdAt: r.createdAt }));
  for (const id of planPrune(releases, { current: state.current, previous: state.previous }, ctx.app.keep)) {
    try {
      await ctx.store.remove(id);
      delete state.releases[id];
    } catch (error) {
      ctx.logger.warn({ release: id, err: messageOf(error) }, 'could not remove old release');
    }
  }
  await ctx.save();
}
