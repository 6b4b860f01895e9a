import { fileURLToPath } from 'node:url';
import { runChildJob } from '../util/child-job.js';
import { installedFilesChanged } from '../util/installed-files.js';
import type { ReleaseFiles } from '../reuse/release-files.js';
import type { FetchResult, Observation, Remote, RemoteConfig, RemoteContext } from './types.js';

/**
 * Remote work that moves bulk data, done in a short-lived child process for the daemon: every
 * fetch (download, verification, extraction, checkout) and a check's download of a changed
 * body. The daemon then holds only what its idle checks need (`util/child-job.ts` says why).
 */

/** One remote operation, as the child gets it. */
export type RemoteJob =
  | { op: 'check'; url: string; config: RemoteConfig; cacheDir: string }
  | { op: 'fetch'; url: string; config: RemoteConfig; cacheDir: string; version: string; into: string; releaseFiles?: ReleaseFiles };

// Under tsx (tests) this module is a .ts file and so is its sibling; built, both are .js.
const entry = fileURLToPath(new URL(`./child-main${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

/**
 * The remote's own check, run in a child: for kinds whose check downloads what changed, once
 * they know a body is coming. The child's conditional request sees what the parent's saw (or
 * newer) and leaves the body in the cache, where `fetch` finds it.
 */
export async function checkInChild(url: string, config: RemoteConfig, display: string, ctx: RemoteContext): Promise<Observation> {
  const job: RemoteJob = { op: 'check', url, config, cacheDir: ctx.cacheDir };
  if (inDaemon(ctx)) {
    // Imported here, not at the top: the registry imports the kinds, which import this module.
    // The daemon loaded the registry long ago, so this never reads the replaced files.
    const { createRemote } = await import('./index.js');
    return createRemote(url, config).check({ ...ctx, isolate: false });
  }
  return (await run<Observation>(job, `check of ${display}`, ctx)).value;
}

/** `remote`, with `fetch` run in a child process; everything else runs here. */
export function withFetchInChild(remote: Remote, url: string, config: RemoteConfig): Remote {
  const isolated: Remote = {
    kind: remote.kind,
    display: remote.display,
    check: (ctx) => remote.check(ctx),
    async fetch(version: string, into: string, ctx: RemoteContext): Promise<FetchResult> {
      if (inDaemon(ctx)) return remote.fetch(version, into, ctx);
      const job: RemoteJob = { op: 'fetch', url, config, cacheDir: ctx.cacheDir, version, into, ...(ctx.releaseFiles ? { releaseFiles: ctx.releaseFiles } : {}) };
      const done = await run<FetchResult>(job, `fetch of ${remote.display}`, ctx);
      ctx.logger.debug({ files: done.value.files, childPid: done.pid, childPeakRssMiB: Math.round(done.peakRssBytes / 1048576) }, 'fetched in a child process');
      return done.value;
    },
  };
  if (remote.contentIdOf) isolated.contentIdOf = (version, ctx) => remote.contentIdOf!(version, ctx);
  if (remote.fetchSidecar) isolated.fetchSidecar = (suffix, ctx) => remote.fetchSidecar!(suffix, ctx);
  return isolated;
}

/**
 * True once repo-deploy's installed files changed under the daemon (an upgrade without a
 * restart): a child would load the new version's modules, while the daemon runs the old ones,
 * all of which it has loaded already. The work then runs here, as in a `-f` run: it costs the
 * daemon memory that only a restart gives back, which the warning asks for.
 */
function inDaemon(ctx: RemoteContext): boolean {
  const change = installedFilesChanged();
  // The daemon warned once when it noticed; each fetch only says where it runs.
  if (change) ctx.logger.debug({ since: change.since }, 'installed files changed since the daemon started: fetching in the daemon process, not a child');
  return change !== undefined;
}

function run<T>(job: RemoteJob, what: string, ctx: RemoteContext) {
  return runChildJob<T>(entry, job, { logger: ctx.logger, what, ...(ctx.signal ? { signal: ctx.signal } : {}) });
}
