import type { GetObjectCommandInput, GetObjectCommandOutput } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { RemoteError } from '../../errors.js';
import { onDisk } from '../../util/disk-errors.js';
import { redactUrl } from '../../util/redact.js';
import { downloadTo, unpackSettings } from '../archive.js';
import { peekedObservation } from './peek.js';
import { cachePaths, dropCacheEntry, readCacheEntry, versionOf, writeCacheEntry, type S3CacheEntry, type S3Pending } from './cache.js';
import { unpackFetched } from '../../delta/unpack.js';
import { discardPrepared, type PreparedExtraction } from '../../extract/zip.js';
import type { ArchiveVerification } from '../../verify/archive.js';
import { fetchS3Delta, notePending } from './delta.js';
import { reportOnce } from '../../delta/attempt.js';
import { createS3Client, type S3ClientHandle } from './client.js';
import { resolveCredentials, type ResolvedCredentials } from './credentials.js';
import { NotS3AnswerError, s3RemoteError, statusOf, type S3ErrorContext } from './errors.js';
import { parseS3Spec, type S3Options, type S3Spec } from './options.js';
import { isS3Url, type S3Location } from './url.js';
import { defineKind, type FetchResult, type Observation, type Remote, type RemoteContext } from '../types.js';

/**
 * The `s3://bucket/path/app.zip` remote kind: a zip object in S3 or an S3-compatible store,
 * deployed exactly like an HTTP zip. Nothing here imports the AWS SDK at load time (see
 * `client.ts`).
 */
export const s3Kind = defineKind({
  name: 's3',
  matches: isS3Url,
  parse: parseS3Spec,
  open: (spec: S3Spec) => new S3Remote(spec),
});

/** Sidecars (`.sha256`, `.minisig`) are a few hundred bytes; anything huge is not one. */
const maxSidecarBytes = 1024 * 1024;

/** A client plus what messages need to know about how it was built. */
interface Session {
  handle: S3ClientHandle;
  credentials: ResolvedCredentials;
}

/** An S3 zip remote for one object. */
export class S3Remote implements Remote {
  readonly kind = 's3';
  readonly display: string;
  private readonly location: S3Location;
  private readonly config: S3Options;
  private client?: { identity: string; handle: Promise<S3ClientHandle> };
  private loggedIdentity?: string;

  constructor(spec: S3Spec) {
    this.location = spec.location;
    this.config = spec.options;
    this.display = spec.display;
  }

  /**
   * One GetObject with If-None-Match on the cached ETag, and with a cached archive a two-byte
   * Range. Unchanged: 304, one request. Changed: the 206 names the new version, which `fetch`
   * rebuilds by delta; without a cached archive the body is streamed into the cache right away
   * for `fetch` to reuse. HeadObject + GetObject would cost two requests for a changed object,
   * and a HEAD error has no body: "no such bucket", "no such key" and "wrong region" would all
   * be a bare 404/301. The price: after the cache is lost, one check downloads a body unasked.
   */
  async check(ctx: RemoteContext): Promise<Observation> {
    const asked = await this.ask(ctx);
    if ('seen' in asked) return asked.seen;
    // A dry run: the version and size from the response's headers, the body left unread.
    if (ctx.peek) return peekedObservation(asked.response, this.location);
    let entry: S3CacheEntry;
    try {
      entry = await this.store(asked.response, ctx);
    } catch (error) {
      throw s3RemoteError(error, this.errorContext(asked.session, this.location.key));
    }
    return { version: entry.version, detail: this.detail(asked.session, entry) };
  }

  /** The check without its download: undefined when a new body is waiting. */
  async probe(ctx: RemoteContext): Promise<Observation | undefined> {
    const asked = await this.ask(ctx);
    if ('seen' in asked) return asked.seen;
    const { response, cached, session } = asked;
    (response.Body as Readable | undefined)?.destroy();
    // Unless it is the cached one again (a store that ignores If-None-Match).
    if (cached && response.ETag === cached.etag && versionOf(response).version === cached.version) {
      return { version: cached.version, detail: this.detail(session, cached) };
    }
    return undefined;
  }

  async fetch(version: string, into: string, ctx: RemoteContext): Promise<FetchResult> {
    let entry = await readCacheEntry(ctx.cacheDir, ctx.logger);
    let verified: ArchiveVerification | undefined;
    let prepared: PreparedExtraction | undefined;
    if (entry?.pending?.version === version && entry.version !== version) {
      const session = await this.session(ctx);
      const delta = await fetchS3Delta({ location: this.location, display: this.display, config: this.config, entry, pending: entry.pending, ctx, readSidecar: (suffix) => this.fetchSidecar(suffix, ctx), get: (input, signal) => this.get(session, input, { ...ctx, signal }), into });
      if (delta) ({ entry, verification: verified, prepared } = delta);
    }
    try {
      if (entry?.version !== version) {
        prepared = await discardPrepared(prepared);
        // Not the body the check left (cache lost, or an older version asked for): get exactly
        // `version`, by VersionId, or by ETag with If-Match (S3 ETags are always quoted).
        const session = await this.session(ctx);
        const input: GetObjectCommandInput = { Bucket: this.location.bucket, Key: this.location.key };
        if (version.startsWith('"')) input.IfMatch = version;
        else input.VersionId = version;
        try {
          entry = await this.store(await this.get(session, input, ctx), ctx, version);
        } catch (error) {
          if (statusOf(error) === 412) throw this.changed(version, error);
          throw s3RemoteError(error, this.errorContext(session, this.location.key));
        }
      }
      return await unpackFetched(cachePaths(ctx.cacheDir).archive, into, {
        ...unpackSettings(this.config, ctx, (suffix) => this.fetchSidecar(suffix, ctx)),
        sha256: entry.sha256,
        facts: await reportOnce(entry, (marked) => onDisk(ctx.cacheDir, () => writeCacheEntry(ctx.cacheDir, marked))),
        verified,
        ...(prepared ? { prepared } : {}),
        dropCache: () => dropCacheEntry(ctx.cacheDir),
      });
    } finally {
      prepared?.close();
    }
  }

  /** The bytes of the object `<key><suffix>` (`.minisig`, `.sha256`); a RemoteError when it is missing. */
  async fetchSidecar(suffix: string, ctx: RemoteContext): Promise<Buffer> {
    const session = await this.session(ctx);
    const key = `${this.location.key}${suffix}`;
    try {
      const response = await this.get(session, { Bucket: this.location.bucket, Key: key }, ctx);
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.Body as Readable) {
        size += (chunk as Buffer).length;
        if (size > maxSidecarBytes) {
          (response.Body as Readable).destroy();
          throw new RemoteError(this.display, `s3 object "${key}" is larger than ${maxSidecarBytes} bytes: not a signature or digest file`);
        }
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks);
    } catch (error) {
      throw s3RemoteError(error, this.errorContext(session, key));
    }
  }

  /** The conditional GetObject of a check: what it saw when no body came, else the answer to store. */
  private async ask(ctx: RemoteContext): Promise<{ seen: Observation } | { response: GetObjectCommandOutput; cached: S3CacheEntry | undefined; session: Session }> {
    const session = await this.session(ctx);
    const cached = await readCacheEntry(ctx.cacheDir, ctx.logger);
    // A version a ranged check already saw is the one asked about: unchanged since, it is a 304.
    const known = cached?.pending ?? cached;
    const input: GetObjectCommandInput = { Bucket: this.location.bucket, Key: this.location.key };
    if (known) input.IfNoneMatch = known.etag;
    // With an archive to build on, a changed object is asked for two bytes: the 206 names the
    // new version, which `fetch` then rebuilds by delta.
    if (cached) input.Range = 'bytes=0-1';
    try {
      const response = await this.get(session, input, ctx);
      // A dry run stores nothing, not even the new version's name.
      const seen = cached && !ctx.peek ? await notePending(ctx.cacheDir, cached, response, versionOf(response).versionId) : undefined;
      if (seen) return { seen: { version: seen.version, detail: this.detail(session, seen) } };
      return { response, cached, session };
    } catch (error) {
      // The SDK surfaces 304 Not Modified as an exception.
      if (known && statusOf(error) === 304) return { seen: { version: known.version, detail: this.detail(session, known) } };
      throw s3RemoteError(error, this.errorContext(session, this.location.key));
    }
  }

  /** Sends one GetObject, ending it when the agent stops. */
  private get(session: Session, input: GetObjectCommandInput, ctx: RemoteContext): Promise<GetObjectCommandOutput> {
    const command = new session.handle.sdk.GetObjectCommand(input);
    return session.handle.client.send(command, ctx.signal ? { abortSignal: ctx.signal as never } : {});
  }

  /**
   * Streams a GetObject body into the cache and records its ETag / VersionId. When `expected`
   * is given and the response is another version, nothing is written.
   */
  private async store(response: GetObjectCommandOutput, ctx: RemoteContext, expected?: string): Promise<S3CacheEntry> {
    const body = response.Body as Readable | undefined;
    const etag = response.ETag;
    if (!body || !etag) {
      body?.destroy();
      // Every S3 GetObject answer has both: this endpoint is some other HTTP server.
      throw new NotS3AnswerError(response.$metadata.httpStatusCode ?? 200, response.ContentType, body ? 'ETag' : 'body');
    }
    const { versionId } = versionOf(response);
    const version = versionId ?? etag;
    if (expected !== undefined && version !== expected) {
      body.destroy();
      throw this.changed(expected);
    }
    await dropCacheEntry(ctx.cacheDir);
    const download = await downloadTo(body, cachePaths(ctx.cacheDir).archive, {
      display: this.display,
      ...(response.ContentLength !== undefined ? { expectedBytes: response.ContentLength } : {}),
      limits: this.config.limits,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    const entry: S3CacheEntry = { version, etag, sha256: download.sha256, bytes: download.bytes, download: { how: 'full', bytes: download.bytes, of: download.bytes } };
    if (versionId) entry.versionId = versionId;
    await writeCacheEntry(ctx.cacheDir, entry);
    return entry;
  }

  /**
   * Resolves credentials (the account-key file is re-read each time) and reuses the client
   * while they stay the same. Logs the credential source once, at debug, never the secret.
   */
  private async session(ctx: RemoteContext): Promise<Session> {
    let credentials: ResolvedCredentials;
    try {
      credentials = await resolveCredentials(this.config);
    } catch (error) {
      throw new RemoteError(this.display, (error as Error).message, { cause: error });
    }
    // Kept in memory only: lets a rotated key file replace the client.
    const identity = [credentials.source, credentials.keys?.accessKeyId, credentials.keys?.secretAccessKey].join('\0');
    if (this.client?.identity !== identity) {
      this.client?.handle.then((h) => h.client.destroy(), () => undefined);
      this.client = { identity, handle: createS3Client(this.config, credentials) };
    }
    const handle = await this.client.handle;
    if (this.loggedIdentity !== identity) {
      this.loggedIdentity = identity;
      ctx.logger.debug({ remote: this.display, credentials: credentials.source, region: handle.region, endpoint: this.endpointName(handle) }, 's3 credentials chosen');
    }
    return { handle, credentials };
  }

  private changed(version: string, cause?: unknown): RemoteError {
    return new RemoteError(this.display, `s3 object "${this.location.key}" changed since the check (wanted version ${version}); the next check will pick up the new one`, { cause });
  }

  private endpointName(handle: S3ClientHandle): string | undefined {
    if (handle.endpoint === undefined) return undefined;
    // redactUrl normalises through URL, which adds a trailing slash: show it as configured.
    const shown = redactUrl(handle.endpoint);
    return handle.endpoint.endsWith('/') ? shown : shown.replace(/\/$/, '');
  }

  private errorContext(session: Session, key: string): S3ErrorContext {
    const endpoint = this.endpointName(session.handle);
    return {
      display: this.display,
      bucket: this.location.bucket,
      key,
      region: session.handle.region,
      credentials: session.credentials.source,
      ...(endpoint ? { endpoint } : {}),
    };
  }

  private detail(session: Session, entry: S3CacheEntry | S3Pending): Record<string, string> {
    const detail: Record<string, string> = {
      bucket: this.location.bucket,
      key: this.location.key,
      etag: entry.etag,
      // A dry run tells the download size from it.
      bytes: String(entry.bytes),
      credentials: session.credentials.source,
      region: session.handle.region,
    };
    if (entry.versionId) detail.versionId = entry.versionId;
    const endpoint = this.endpointName(session.handle);
    if (endpoint) detail.endpoint = endpoint;
    return detail;
  }
}
