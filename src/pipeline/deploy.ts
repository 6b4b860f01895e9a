import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { VerificationError } from '../errors.js';
import { makeReleaseId } from '../release/release-id.js';
import { metaPathOf, topEntries, writeMeta } from '../release/release-meta.js';
import type { FetchResult, Observation } from '../remotes/types.js';
import { activate, type DeployResult } from './activate.js';
import { recordReleaseFiles, releaseFilesFor, removeStaging, statStagedFiles } from '../reuse/release-files.js';
import type { RunContext } from './context.js';
import { planFetched } from './plan.js';
import type { InProgressRecord } from './state.js';
import { apply } from './transitions.js';

export type { DeployResult } from './activate.js';

/** Where a deploy starts from, as the plan decided. */
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
 * The fetch step, then `activate`: stages `observation.version` and publishes it as a release,
 * unless its content is the current release's. Throws `UpdateFailedError` (blocked, reverted),
 * `RemoteError` or `VerificationError`; the caller records failures.
 */
export async function deploy(ctx: RunContext, observation: Observation, target: DeployTarget): Promise<DeployResult> {
  const { version } = observation;
  const currentId = target.sameContentAs;
  const currentContent = currentId ? ctx.state.releases[currentId]?.contentId : undefined;
  if (currentId && currentContent && ctx.remote.contentIdOf) {
    // Asked before fetching: a monorepo commit that leaves our subdirectory alone costs no download.
    if (planFetched(currentContent, await ctx.remote.contentIdOf(version, ctx.remoteCtx)) === 'same-content') return recordSeen(ctx, version, currentId);
  }
  const staging = await ctx.store.createStaging();
  const fetched = await fetchInto(ctx, version, staging, target.previous);
  const verdict = planFetched(currentId ? currentContent : undefined, fetched.contentId, fetched.files);
  if (verdict !== 'publish') await removeStaging(staging);
  if (verdict === 'same-content') return recordSeen(ctx, version, currentId!);
  if (verdict === 'empty') {
    throw new VerificationError(`refusing version ${version} of ${ctx.remote.display}: it holds no regular file (it is empty, or only directories or symlinks); current is unchanged`);
  }
  ctx.logger.info({ version, files: fetched.files, bytesDownloaded: fetched.bytesDownloaded, ...fetched.detail }, 'fetched new version');
  // Without an owner to chown them, the files' stat data is final now: taken while publish
  // flushes them to disk, by their staging paths (so before the rename).
  const staged = ctx.app.owner ? undefined : statStagedFiles(staging);
  const pending = await publish(ctx, observation, fetched, staging, target.previous, staged);
  if (target.adoptDirectory) await apply(ctx, { name: 'rebased', previous: await adoptDirectory(ctx) });
  if (ctx.app.owner) {
    try {
      await chownRelease(ctx.store.pathOf(pending.releaseId), ctx.app.owner);
    } catch (error) {
      await removeStaging(staging);
      await ctx.store.remove(pending.releaseId);
      await apply(ctx, { name: 'discarded' });
      throw error;
    }
  }
  // After chown (which moves every ctime): the stat data the next release compares.
  await recordReleaseFiles(staging, ctx.store.releasesDir, pending.releaseId, ctx.logger, staged);
  return activate(ctx, ctx.state.inProgress!, { discardOnBlock: true });
}

/**
 * Fetches `version` into `staging`; removes it when the fetch fails. Unchanged files are cloned
 * from `current` (the release `previous`), and the files written are listed for the next one.
 */
async function fetchInto(ctx: RunContext, version: string, staging: string, current: string | null): Promise<FetchResult> {
  await ctx.events.onFetchStart?.(ctx.app.name, version);
  const started = Date.now();
  try {
    const releaseFiles = releaseFilesFor(ctx.app, ctx.store.releasesDir, staging, current);
    const fetched = await ctx.remote.fetch(version, staging, { ...ctx.remoteCtx, releaseFiles });
    ctx.events.onDownload?.(ctx.app.name, Date.now() - started, fetched.bytesDownloaded, Number(fetched.detail?.bytesReused ?? 0));
    return fetched;
  } catch (error) {
    await removeStaging(staging);
    throw error;
  }
}

/**
 * Stages the update in the state, writes the release's own record, and publishes the staged
 * directory as a release. On failure nothing is published and nothing is left behind.
 */
async function publish(ctx: RunContext, observation: Observation, fetched: FetchResult, staging: string, previous: string | null, whileFlushing?: Promise<unknown>): Promise<InProgressRecord> {
  const { store, state } = ctx;
  const { version } = observation;
  const releaseId = makeReleaseId(ctx.now(), version, (id) => id in state.releases || existsSync(store.pathOf(id)));
  const detail = { ...observation.detail, ...fetched.detail };
  const pending: InProgressRecord = { releaseId, version, phase: 'pre-update', previous, contentId: fetched.contentId, detail };
  try {
    // Recorded before the release appears, so a crash from here on is cleaned up by recovery.
    await apply(ctx, { name: 'staged', pending });
    // The release's own record, written before it appears: a lost state file is rebuilt from it.
    const createdAt = ctx.now().toISOString();
    const entries = await topEntries(staging);
    await writeMeta(store.releasesDir, { id: releaseId, version, source: ctx.source, sourceKey: ctx.sourceKey, contentId: fetched.contentId, createdAt, status: 'pending', detail, entries });
    await store.publish(staging, releaseId, whileFlushing);
  } catch (error) {
    // A full disk fails here as easily as in the fetch. The state is saved again with the
    // check's outcome; the error that matters is this one, not a second failed save.
    await apply(ctx, { name: 'discarded' }).catch(() => undefined);
    await removeStaging(staging);
    await rm(metaPathOf(store.releasesDir, releaseId), { force: true });
    throw error;
  }
  return pending;
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
  await apply(ctx, { name: 'seen', version, releaseId: currentId });
  ctx.logger.info({ version, release: currentId }, 'new version has the same content as the current release, nothing to deploy');
  return { result: 'up-to-date', releaseId: currentId };
}

/** Makes a real directory found at `current` a release (kept, never deleted). */
async function adoptDirectory(ctx: RunContext): Promise<string> {
  const id = makeReleaseId(ctx.now(), 'adopted', (i) => i in ctx.state.releases);
  const createdAt = ctx.now().toISOString();
  // Recorded as current first: if we die between the two renames, recovery re-creates the link.
  await apply(ctx, { name: 'adopted', releaseId: id, record: { version: 'adopted', createdAt, status: 'good', adopted: true, sourceKey: 'adopted' } });
  await ctx.store.adoptDirectory(id);
  const source = { kind: 'adopted', location: ctx.app.local, settings: {} };
  await writeMeta(ctx.store.releasesDir, { id, version: 'adopted', source, sourceKey: 'adopted', createdAt, status: 'good', entries: await topEntries(ctx.store.pathOf(id)), adopted: true });
  ctx.logger.info({ release: id }, 'kept the existing directory at current as a release');
  return id;
}
