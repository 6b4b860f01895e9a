import { rename } from 'node:fs/promises';
import { attemptDelta, deltaSettings, rebuildPaths, type DeltaOutcome } from '../../delta/attempt.js';
import { httpRangeSource } from '../../delta/http-source.js';
import type { SidecarReader } from '../../verify/archive.js';
import { onDisk } from '../../util/disk-errors.js';
import type { RemoteContext } from '../types.js';
import type { HttpOptions } from './options.js';
import { archivePath, saveState, type HttpCacheState, type PendingVersion } from './cache.js';

/**
 * The HTTP remote's delta download: the version a ranged check saw (`pending`) is rebuilt from
 * the cached archive of the previous one plus `Range` requests pinned to it with `If-Range`.
 */

/** What the HTTP remote hands over. */
export interface HttpDeltaInput {
  /** The archive's URL, as configured (it may carry credentials). */
  url: string;
  display: string;
  config: HttpOptions;
  /** The cached state: its archive is the base. */
  state: HttpCacheState;
  pending: PendingVersion;
  ctx: RemoteContext;
  readSidecar: SidecarReader;
  /** The staging directory the release is extracted into. */
  into: string;
}

/** A delta download that worked: the new state is saved and its archive in place. */
export interface HttpDelta extends Pick<DeltaOutcome, 'verification' | 'prepared'> {
  state: HttpCacheState;
}

/** Rebuilds `pending` in the cache; undefined (logged) when the whole archive must be downloaded. */
export async function fetchHttpDelta(input: HttpDeltaInput): Promise<HttpDelta | undefined> {
  const { ctx, pending, config } = input;
  const { output, moved } = await rebuildPaths(ctx.cacheDir);
  const outcome = await attemptDelta({
    previous: archivePath(ctx.cacheDir, input.state.sha256),
    output,
    moved,
    total: pending.bytes,
    source: httpRangeSource({
      url: input.url,
      display: input.display,
      total: pending.bytes,
      ...(pending.etag ? { etag: pending.etag } : {}),
      ...(pending.lastModified ? { lastModified: pending.lastModified } : {}),
      connectTimeoutMs: config.connectTimeoutMs,
      readTimeoutMs: config.readTimeoutMs,
    }),
    ...deltaSettings(config, ctx, input.display, input.readSidecar, input.into),
  });
  if (!outcome) return undefined;
  const { download } = outcome;
  const state: HttpCacheState = {
    urlKey: input.state.urlKey,
    version: pending.version,
    sha256: outcome.sha256,
    bytes: outcome.bytes,
    ...(pending.etag ? { etag: pending.etag } : {}),
    ...(pending.lastModified ? { lastModified: pending.lastModified } : {}),
    download,
  };
  // The archive is in place before the state names it; the old one goes once nothing does.
  await onDisk(ctx.cacheDir, async () => {
    await rename(output, archivePath(ctx.cacheDir, outcome.sha256));
    await saveState(ctx.cacheDir, state);
  }).catch((error: unknown) => {
    outcome.prepared?.close();
    throw error;
  });
  return { state, verification: outcome.verification, ...(outcome.prepared ? { prepared: outcome.prepared } : {}) };
}

