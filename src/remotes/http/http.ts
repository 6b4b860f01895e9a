import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { join } from 'node:path';
import { RemoteError } from '../../errors.js';
import { onDisk } from '../../util/disk-errors.js';
import { makePrivateDir } from '../../util/modes.js';
import { notAZip } from '../not-a-zip.js';
import { downloadTo, unpackSettings } from '../archive.js';
import { digestFile } from '../../verify/digest-file.js';
import { archivePath, loadState, saveState, urlKeyOf, type HttpCacheState, type PendingVersion } from './cache.js';
import { parseHttpSpec, type HttpOptions, type HttpSpec } from './options.js';
import { unpackFetched } from '../../delta/unpack.js';
import { lostArchive, totalOfContentRange } from '../../delta/source.js';
import { discardPrepared, type PreparedExtraction } from '../../extract/zip.js';
import type { ArchiveVerification } from '../../verify/archive.js';
import { fetchHttpDelta } from './delta.js';
import { reportOnce } from '../../delta/attempt.js';
import { httpGet, readSmallBody, type HttpResponse } from './request.js';
import { defineKind, type FetchResult, type Observation, type Remote, type RemoteContext } from '../types.js';

/**
 * The HTTP(S) remote: a URL to a zip. The check is a conditional GET built
 * from the validators of the last download, so an unchanged remote costs one request and no
 * body; a changed one is downloaded by the check itself and reused by `fetch`.
 */
export const httpKind = defineKind({
  name: 'http',
  matches: (url: string) => /^https?:\/\//i.test(url),
  parse: parseHttpSpec,
  open: (spec: HttpSpec) => new HttpRemote(spec),
});

/** Largest sidecar (`.sha256`, `.minisig`) accepted: they are a few hundred bytes. */
const maxSidecarBytes = 1024 * 1024;

/** An HTTP(S) zip remote for one URL. */
export class HttpRemote implements Remote {
  readonly kind = 'http';
  readonly display: string;
  /** As configured (it may hold a token): requested, never shown. */
  private readonly url: string;
  private readonly config: HttpOptions;
  private readonly urlKey: string;
  /** sha256 of the archive this object stored itself (in this run's check): already verified. */
  private storedNow: string | undefined;

  constructor(spec: HttpSpec) {
    this.url = spec.url;
    this.config = spec.options;
    this.display = spec.display;
    this.urlKey = urlKeyOf(this.display);
  }

  async check(ctx: RemoteContext): Promise<Observation> {
    const asked = await this.ask(ctx);
    if ('seen' in asked) return asked.seen;
    const { response, state } = asked;
    if (ctx.peek) {
      response.body.destroy();
      // A ranged probe's answer tells the whole archive's size in Content-Range.
      const total = response.status === 206 ? totalOfContentRange(response.headers['content-range']) : undefined;
      return peekedObservation(total === undefined ? response.headers : { ...response.headers, 'content-length': String(total) });
    }
    if (response.status === 206 && state) {
      const pending = pendingOf(response);
      if (pending) return this.notePending(state, pending, ctx);
      ctx.logger.info({ url: this.display, reason: 'the ranged answer named no size or no validator' }, 'delta download not possible, downloading the whole archive');
      return observationOf(await this.store(await this.get(this.url, {}, ctx), ctx));
    }
    return observationOf(await this.store(response, ctx));
  }

  /** The check without its download: undefined when a new body is waiting. */
  async probe(ctx: RemoteContext): Promise<Observation | undefined> {
    const asked = await this.ask(ctx);
    if ('seen' in asked) return asked.seen;
    const { response, state } = asked;
    response.body.destroy();
    // A ranged answer names the new version without a body: `fetch` downloads it by delta.
    const pending = response.status === 206 && state ? pendingOf(response) : undefined;
    if (pending && state) return this.notePending(state, pending, ctx);
    // Unless it is the cached one again (a server that ignores conditional requests): idle
    // checks must not cost a download each.
    return state && response.status === 200 && sameValidators(state, response.headers) ? observationOf(state) : undefined;
  }

  async fetch(version: string, into: string, ctx: RemoteContext): Promise<FetchResult> {
    let state = await this.cachedState(ctx);
    let verified: ArchiveVerification | undefined;
    let prepared: PreparedExtraction | undefined;
    if (state && state.version !== version && state.pending?.version === version) {
      const delta = await fetchHttpDelta({ url: this.url, display: this.display, config: this.config, state, pending: state.pending, ctx, readSidecar: (suffix) => this.fetchSidecar(suffix, ctx), into });
      if (delta) ({ state, verification: verified, prepared } = delta);
    }
    try {
      // An archive left by an earlier run is trusted only if it still hashes to what was
      // recorded: a disk error or a stray edit must not become a release. One this run's check
      // just downloaded (or the delta just rebuilt) was hashed as it was written.
      if (!state || state.version !== version || (state.sha256 !== this.storedNow && !verified && !(await hashesTo(archivePath(ctx.cacheDir, state.sha256), state.sha256)))) {
        prepared = await discardPrepared(prepared);
        state = await this.store(await this.get(this.url, {}, ctx), ctx);
        if (state.version !== version) {
          throw new RemoteError(this.display, `changed between check and fetch (now ${state.version}); the next check will see the new version`);
        }
      }
      const facts = await reportOnce(state, (marked) => onDisk(ctx.cacheDir, () => saveState(ctx.cacheDir, marked)));
      const cached = state.sha256;
      return await unpackFetched(archivePath(ctx.cacheDir, cached), into, {
        ...unpackSettings(this.config, ctx, (suffix) => this.fetchSidecar(suffix, ctx)),
        sha256: cached,
        display: this.display,
        facts,
        verified,
        ...(prepared ? { prepared } : {}),
        dropCache: () => rm(archivePath(ctx.cacheDir, cached), { force: true }),
      });
    } finally {
      prepared?.close();
    }
  }

  /** A ranged check's new version, kept next to the cached archive for `fetch` to download by delta. */
  private async notePending(state: HttpCacheState, pending: PendingVersion, ctx: RemoteContext): Promise<Observation> {
    // The cached version, still (a server that ignores conditional requests, or a remote that
    // went back to it): a pending version seen before is forgotten, so the next check is a 304.
    if (pending.version === state.version) {
      if (state.pending) {
        const { pending: _stale, ...kept } = state;
        await onDisk(ctx.cacheDir, () => saveState(ctx.cacheDir, kept));
      }
      return observationOf(state);
    }
    if (pending.version !== state.pending?.version) await onDisk(ctx.cacheDir, () => saveState(ctx.cacheDir, { ...state, pending }));
    ctx.logger.debug({ url: this.display, version: pending.version, bytes: pending.bytes }, 'http remote changed');
    return observationOf(pending);
  }

  /** The bytes of `<url><suffix>` (`.minisig`, `.sha256`); a RemoteError when it is missing. */
  async fetchSidecar(suffix: string, ctx: RemoteContext): Promise<Buffer> {
    const url = new URL(this.url);
    // The suffix belongs to the path: a query string (pre-signed URL) stays at the end.
    url.pathname += suffix;
    const response = await this.get(url.href, {}, ctx);
    return readSmallBody(response.body, this.display, maxSidecarBytes);
  }

  /** The conditional GET of a check: what it saw when no body came, else the response to store. */
  private async ask(ctx: RemoteContext): Promise<{ seen: Observation } | { response: HttpResponse; state: HttpCacheState | undefined }> {
    const state = await this.cachedState(ctx);
    // A version a ranged check already saw is the one asked about: unchanged since, it is a 304.
    const known = state?.pending ?? state;
    const headers: Record<string, string> = {};
    if (known?.etag) headers['if-none-match'] = known.etag;
    if (known?.lastModified) headers['if-modified-since'] = known.lastModified;
    // With an archive to build on, a changed remote is asked for two bytes, not its body: the
    // answer names the new version and shows that ranges work; `fetch` then downloads by delta.
    const ranged = state !== undefined && (state.etag !== undefined || state.lastModified !== undefined);
    if (ranged) headers.range = 'bytes=0-1';
    const response = await this.get(this.url, headers, ctx);
    if (response.status === 304 && known) {
      response.body.resume();
      ctx.logger.debug({ url: this.display, version: known.version }, 'http remote not modified');
      return { seen: observationOf(known) };
    }
    if (ranged && response.status !== 206) ctx.logger.info({ url: this.display, reason: 'the server ignores range requests' }, 'delta download not possible, downloading the whole archive');
    return { response, state };
  }

  /** The cached state, when its archive is still there. */
  private async cachedState(ctx: RemoteContext): Promise<HttpCacheState | undefined> {
    const state = await loadState(ctx.cacheDir, this.urlKey);
    if (!state) return undefined;
    if (existsSync(archivePath(ctx.cacheDir, state.sha256))) return state;
    ctx.logger.info({ url: this.display, reason: lostArchive }, 'no cached archive to build on: the archive is downloaded whole');
    return undefined;
  }

  /** GETs `url` and turns every status but 200 (and 304 on conditional requests) into a RemoteError. */
  private async get(url: string, headers: Record<string, string>, ctx: RemoteContext): Promise<HttpResponse> {
    const response = await httpGet(url, this.display, {
      headers,
      connectTimeoutMs: this.config.connectTimeoutMs,
      readTimeoutMs: this.config.readTimeoutMs,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    const conditional = Object.keys(headers).length > 0;
    if (response.status === 200 || (response.status === 304 && conditional) || (response.status === 206 && headers.range)) return response;
    response.body.resume();
    throw new RemoteError(this.display, `HTTP ${response.status} ${STATUS_CODES[response.status] ?? ''} from ${response.finalUrl}${hintFor(response.status)}`.replace('  ', ' '));
  }

  /** Streams a 200 body into the cache and records its validators and version. */
  private async store(response: HttpResponse, ctx: RemoteContext): Promise<HttpCacheState> {
    const length = response.headers['content-length'];
    const expectedBytes = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
    const encoding = response.headers['content-encoding']?.trim().toLowerCase();
    // A server may gzip any body (nginx gzip_static, an object stored with Content-Encoding:
    // gzip); like curl --compressed and browsers, we decode it. Other encodings we cannot.
    const gunzip = encoding === 'gzip' || encoding === 'x-gzip';
    if (encoding && encoding !== 'identity' && !gunzip) {
      response.body.resume();
      throw new RemoteError(this.display, `${this.display} sent its body with Content-Encoding: ${encoding}, which repo-deploy cannot decode: serve the zip as is (or gzip-encoded)`);
    }
    await onDisk(ctx.cacheDir, () => makePrivateDir(ctx.cacheDir));
    const incoming = join(ctx.cacheDir, 'incoming.zip');
    const download = await downloadTo(response.body, incoming, {
      display: this.display,
      limits: this.config.limits,
      ...(expectedBytes !== undefined ? { expectedBytes } : {}),
      ...(gunzip ? { gunzip } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    const received = notAZip(download.head, { contentType: response.headers['content-type'], contentEncoding: response.headers['content-encoding'] });
    if (received) {
      await rm(incoming, { force: true });
      throw new RemoteError(this.display, `${response.finalUrl} did not serve a zip archive (${received}): check the URL, and that the server does not answer with a login or error page`);
    }
    await rename(incoming, archivePath(ctx.cacheDir, download.sha256));
    const etag = response.headers.etag;
    const lastModified = response.headers['last-modified'];
    const state: HttpCacheState = {
      urlKey: this.urlKey,
      version: versionOf(etag, expectedBytes, lastModified, download.sha256),
      sha256: download.sha256,
      bytes: download.bytes,
      ...(etag ? { etag } : {}),
      ...(lastModified ? { lastModified } : {}),
      download: { how: 'full', bytes: download.bytes, of: download.bytes },
    };
    await onDisk(ctx.cacheDir, () => saveState(ctx.cacheDir, state));
    this.storedNow = state.sha256;
    ctx.logger.debug({ url: this.display, version: state.version, bytes: download.bytes }, 'http remote downloaded');
    return state;
  }
}

/**
 * The version of a download: the ETag; without one, a digest of Content-Length and Last-Modified; without
 * those, the content's sha256, so the same bytes never make a new version.
 */
function versionOf(etag: string | undefined, length: number | undefined, lastModified: string | undefined, sha256: string): string {
  if (etag) return `etag:${etag}`;
  if (lastModified) {
    return `meta:${createHash('sha256').update(`${length ?? ''}\0${lastModified}`).digest('hex').slice(0, 32)}`;
  }
  return `sha256:${sha256}`;
}

/** True when a 200's validators are those of the cached download (never without any). */
function sameValidators(state: HttpCacheState, headers: HttpResponse['headers']): boolean {
  if (state.etag) return headers.etag === state.etag;
  const length = headers['content-length'];
  return state.lastModified !== undefined && headers['last-modified'] === state.lastModified && length === String(state.bytes);
}

/** A dry run's observation of a changed archive, from its headers alone (nothing downloaded). */
function peekedObservation(headers: HttpResponse['headers']): Observation {
  const length = headers['content-length'];
  const bytes = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
  const version = versionOf(headers.etag, bytes, headers['last-modified'], 'unknown until downloaded');
  return { version, detail: { ...(bytes !== undefined ? { bytes: String(bytes) } : {}), ...(headers.etag ? { etag: headers.etag } : {}) } };
}
/** A ranged answer's version, or undefined when it names no size or no validator. */
function pendingOf(response: HttpResponse): PendingVersion | undefined {
  const total = totalOfContentRange(response.headers['content-range']);
  const { etag, 'last-modified': lastModified } = response.headers;
  if (total === undefined || (!etag && !lastModified)) return undefined;
  return { version: versionOf(etag, total, lastModified, ''), bytes: total, ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) };
}

function observationOf(state: HttpCacheState | PendingVersion): Observation {
  // bytes: a dry run tells the download size from it.
  const detail: Record<string, string> = { ...('sha256' in state ? { sha256: state.sha256 } : {}), bytes: String(state.bytes) };
  if (state.etag) detail.etag = state.etag;
  if (state.lastModified) detail.lastModified = state.lastModified;
  return { version: state.version, detail };
}

function hintFor(status: number): string {
  if (status === 404 || status === 410) return ': check the URL';
  if (status === 401 || status === 403) return ': check the credentials';
  return '';
}

/** True when the file at `path` has sha256 `hex` (false when it cannot be read). */
async function hashesTo(path: string, hex: string): Promise<boolean> {
  try {
    return (await digestFile(path, ['sha256'])).sha256?.toString('hex') === hex;
  } catch {
    return false;
  }
}
