import { fileURLToPath } from 'node:url';
import { runChildJob } from '../util/child-job.js';
import { installedFilesChanged } from '../util/installed-files.js';
import type { ReleaseFiles } from '../reuse/release-files.js';
import type { FetchResult, Observation, Remote, RemoteContext, RemoteSpec } from './types.js';

/**
 * Remote work that moves bulk data, done in a short-lived child process for the daemon: every
 * fetch (download, verification, extraction, checkout) and a check's download of a changed
 * body. The daemon then holds only what its idle checks need (`util/child-job.ts` says why).
 * A decorator: the remotes themselves know nothing of it.
 */

/** One remote operation, as the child gets it: the child builds the remote from `spec`. */
export type RemoteJob =
  | { op: 'check'; spec: RemoteSpec; cacheDir: string }
  | { op: 'fetch'; spec: RemoteSpec; cacheDir: string; version: string; into: string; releaseFiles?: ReleaseFiles; resolved?: unknown };

// Under tsx (tests) this module is a .ts file and so is its sibling; built, both are .js.
const entry = fileURLToPath(new URL(`./child-main${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

/**
 * `remote` (built from `spec`), with its bulk work in a child process. `fetch` always runs
 * there. A check runs here when it needs no download (the remote's `probe` answers it, or the
 * kind has no `probe`: its check downloads nothing); when a body is waiting, a child checks
 * again and downloads it. The child's conditional request sees what ours saw (or newer) and
 * leaves the body in the cache, where `fetch` finds it.
 */
export function withFetchInChild(remote: Remote, spec: RemoteSpec): Remote {
  const isolated: Remote = {
    kind: remote.kind,
    display: remote.display,
    async check(ctx: RemoteContext): Promise<Observation> {
      if (!remote.probe) return remote.check(ctx);
      const seen = await remote.probe(ctx);
      if (seen) return seen;
      if (inDaemon(ctx)) return remote.check(ctx);
      return (await run<Observation>({ op: 'check', spec, cacheDir: ctx.cacheDir }, `check of ${remote.display}`, ctx)).value;
    },
    async fetch(version: string, into: string, ctx: RemoteContext): Promise<FetchResult> {
      if (inDaemon(ctx)) return remote.fetch(version, into, ctx);
      // What this process's `contentIdOf` found for the version: not asked of the remote again.
      const resolved = remote.handOverResolved?.(version);
      const job: RemoteJob = {
        op: 'fetch',
        spec,
        cacheDir: ctx.cacheDir,
        version,
        into,
        ...(ctx.releaseFiles ? { releaseFiles: ctx.releaseFiles } : {}),
        ...(resolved !== undefined ? { resolved } : {}),
      };
      const done = await run<FetchResult>(job, `fetch of ${remote.display}`, ctx);
      ctx.logger.debug({ files: done.value.files, childPid: done.pid, childPeakRssMiB: Math.round(done.peakRssBytes / 1048576) }, 'fetched in a child process');
      return done.value;
    },
  };
  if (remote.contentIdOf) isolated.contentIdOf = (version, ctx) => remote.contentIdOf!(version, ctx);
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
