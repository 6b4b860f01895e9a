import type { GetObjectCommandInput, GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { rename } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { attemptDelta, deltaSettings, rebuildPaths, type DeltaOutcome } from '../../delta/attempt.js';
import { s3RangeSource } from '../../delta/s3-source.js';
import { totalOfContentRange } from '../../delta/source.js';
import { onDisk } from '../../util/disk-errors.js';
import type { SidecarReader } from '../../verify/archive.js';
import type { RemoteContext } from '../types.js';
import type { S3Options } from './options.js';
import { cachePaths, dropCacheEntry, writeCacheEntry, type S3CacheEntry, type S3Pending } from './cache.js';
import type { S3Location } from './url.js';
import { NotS3AnswerError } from './errors.js';

/**
 * The S3 remote's delta download: the version a ranged check saw (`pending`) is rebuilt from
 * the cached archive plus ranged GetObjects (one range each, S3 has no multi-range answers),
 * each with `IfMatch` on the ETag the check saw.
 */

/**
 * A ranged check's answer: for a 206, the version it names (the cached one again for a store
 * that ignores `If-None-Match`), recorded as pending for `fetch`. Undefined for a 200 (a store
 * that ignores `Range`): the check then keeps the body, as without a cached archive.
 */
export async function notePending(cacheDir: string, cached: S3CacheEntry, response: GetObjectCommandOutput, versionId: string | undefined): Promise<S3CacheEntry | S3Pending | undefined> {
  const bytes = totalOfContentRange(response.ContentRange);
  const etag = response.ETag;
  if (response.$metadata.httpStatusCode !== 206) return undefined;
  (response.Body as Readable | undefined)?.destroy();
  // Every S3 answer to a range has both: this endpoint is some other HTTP server.
  if (bytes === undefined || !etag) throw new NotS3AnswerError(206, response.ContentType, 'ETag');
  const pending: S3Pending = { version: versionId ?? etag, etag, bytes, ...(versionId ? { versionId } : {}) };
  if (pending.version === cached.version) {
    // Back to the cached version: a pending version seen before is forgotten (the next check is a 304).
    if (cached.pending) {
      const { pending: _stale, ...kept } = cached;
      await onDisk(cacheDir, () => writeCacheEntry(cacheDir, kept));
    }
    return cached;
  }
  if (pending.version !== cached.pending?.version) await onDisk(cacheDir, () => writeCacheEntry(cacheDir, { ...cached, pending }));
  return pending;
}

/** What the S3 remote hands over. */
export interface S3DeltaInput {
  location: S3Location;
  display: string;
  config: S3Options;
  /** The cached entry: its archive is the base. */
  entry: S3CacheEntry;
  pending: S3Pending;
  ctx: RemoteContext;
  readSidecar: SidecarReader;
  /** The staging directory the release is extracted into. */
  into: string;
  /** Sends one GetObject with the remote's client. */
  get(input: GetObjectCommandInput, signal: AbortSignal): Promise<GetObjectCommandOutput>;
}

/** Rebuilds `pending` as the cached archive; undefined (logged) when the whole object must be downloaded. */
export async function fetchS3Delta(input: S3DeltaInput): Promise<(Pick<DeltaOutcome, 'verification' | 'prepared'> & { entry: S3CacheEntry }) | undefined> {
  const { ctx, pending, config } = input;
  const { output, moved } = await rebuildPaths(ctx.cacheDir);
  const outcome = await attemptDelta({
    previous: cachePaths(ctx.cacheDir).archive,
    output,
    moved,
    total: pending.bytes,
    source: s3RangeSource({
      bucket: input.location.bucket,
      key: input.location.key,
      etag: pending.etag,
      ...(pending.versionId ? { versionId: pending.versionId } : {}),
      total: pending.bytes,
      get: input.get,
    }),
    ...deltaSettings(config, ctx, input.display, input.readSidecar, input.into),
  });
  if (!outcome) return undefined;
  const { download } = outcome;
  const entry: S3CacheEntry = { version: pending.version, etag: pending.etag, sha256: outcome.sha256, bytes: outcome.bytes, download };
  if (pending.versionId) entry.versionId = pending.versionId;
  // As for a full download: no meta while the archive is replaced (see dropCacheEntry).
  await onDisk(ctx.cacheDir, async () => {
    await dropCacheEntry(ctx.cacheDir);
    await rename(output, cachePaths(ctx.cacheDir).archive);
    await writeCacheEntry(ctx.cacheDir, entry);
  }).catch((error: unknown) => {
    outcome.prepared?.close();
    throw error;
  });
  return { entry, verification: outcome.verification, ...(outcome.prepared ? { prepared: outcome.prepared } : {}) };
}

