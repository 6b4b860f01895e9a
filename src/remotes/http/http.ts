import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { join } from 'node:path';
import { RemoteError } from '../../errors.js';
import { onDisk } from '../../util/disk-errors.js';
import { makePrivateDir } from '../../util/modes.js';
import { redactUrl } from '../../util/redact.js';
import { notAZip } from '../not-a-zip.js';
import { downloadTo } from '../archive.js';
import { checkInChild } from '../isolated.js';
import { digestFile } from '../../verify/digest-file.js';
import { archivePath, loadState, saveState, urlKeyOf, type HttpCacheState, type PendingVersion } from './cache.js';
import { unpackFetched } from '../../delta/unpack.js';
import { totalOfContentRange } from '../../delta/source.js';
import type { ArchiveVerification } from '../../verify/archive.js';
import { fetchHttpDelta, reportOnce } from './delta.js';
import { httpGet, readSmallBody, type HttpResponse } from './request.js';
import type { FetchResult, Observation, Remote, RemoteConfig, RemoteContext, RemoteKind } from '../types.js';

/**
 * The HTTP(S) remote (DESIGN §4, issue 2): a URL to a zip. The check is a conditional GET built
 * from the validators of the last download, so an unchanged remote costs one request and no
 * body; a changed one is downloaded by the check itself and reused by `fetch`.
 */
export const httpKind: RemoteKind = {
  name: 'http',
  matches: (url) => /^https?:\/\//i.test(url),
  create: (url, config) => new HttpRemote(url, config),
};

/** Largest sidecar (`.sha256`, `.minisig`) accepted: they are a few hundred bytes. */
const maxSidecarBytes = 1024 * 1024;

class HttpRemote implements Remote {
  readonly kind = 'http';
  readonly display: string;
  private readonly urlKey: string;
  /** sha256 of the archive this object stored itself (in this run's check): already verified. */
  private storedNow: string | undefined;

  constructor(private readonly url: string, private readonly config: RemoteConfig) {
    try {
      new URL(url);
    } catch {
      throw new Error(`invalid URL: ${redactUrl(url)}`);
    }
    this.display = redactUrl(url);
    this.urlKey = urlKeyOf(this.display);
  }

  async check(ctx: RemoteContext): Promise<Observation> {
    const state = await this.cachedState(ctx);
    const known = state?.pending ?? state;
    const headers: Record<string, string> = {};
    if (known?.etag) headers['if-none-match'] = known.etag;
    if (known?.lastModified) headers['if-modified-since'] = known.lastModified;
    // With an archive to build on, a changed remote is asked for two bytes, not its body: the
    // answer names the new version and shows that ranges work; `fetch` then downloads by delta.
    const probe = state !== undefined && (state.etag !== undefined || state.lastModified !== undefined);
    if (probe) headers.range = 'bytes=0-1';
    const response = await this.get(this.url, headers, ctx);
    if (response.status === 304 && known) {
      response.body.resume();
      ctx.logger.debug({ url: this.display, version: known.version }, 'http remote not modified');
      return observationOf(known);
    }
    if (response.status === 206 && state) return this.recordPending(state, response, ctx);
    if (probe) ctx.logger.info({ url: this.display, reason: 'the server ignores range requests' }, 'delta download not possible, downloading the whole archive');
    if (ctx.isolate) {
      // A body is coming: a child process asks again and downloads it (see RemoteContext).
      response.body.destroy();
      // Unless it is the cached one again (a server that ignores conditional requests): idle
      // checks must not cost a child and a download each.
      if (state && sameValidators(state, response.headers)) return observationOf(state);
      return checkInChild(this.url, this.config, this.display, ctx);
    }
    const stored = await this.store(response, ctx);
    return observationOf(stored);
  }

  async fetch(version: string, into: string, ctx: RemoteContext): Promise<FetchResult> {
    let state = await this.cachedState(ctx);
    let verified: ArchiveVerification | undefined;
    if (state && state.version !== version && state.pending?.version === version) {
      const delta = await fetchHttpDelta({ url: this.url, display: this.display, config: this.config, state, pending: state.pending, ctx, readSidecar: (suffix) => this.fetchSidecar(suffix, ctx) });
      if (delta) ({ state, verification: verified } = delta);
    }
    // An archive left by an earlier run is trusted only if it still hashes to what was
    // recorded: a disk error or a stray edit must not become a release. One this run's check
    // just downloaded (or the delta just rebuilt) was hashed as it was written.
    if (!state || state.version !== version || (state.sha256 !== this.storedNow && !verified && !(await hashesTo(archivePath(ctx.cacheDir, state.sha256), state.sha256)))) {
      state = await this.store(await this.get(this.url, {}, ctx), ctx);
      if (state.version !== version) {
        throw new RemoteError(this.display, `changed between check and fetch (now ${state.version}); the next check will see the new version`);
      }
    }
    const facts = await reportOnce(state, ctx.cacheDir);
    return unpackFetched(archivePath(ctx.cacheDir, state.sha256), into, {
      limits: this.config.limits,
      verify: this.config.verify,
      ...(this.config.archiveRoot ? { archiveRoot: this.config.archiveRoot } : {}),
      readSidecar: (suffix) => this.fetchSidecar(suffix, ctx),
      sha256: state.sha256,
      display: this.display,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      facts,
      verified,
      dropCache: () => rm(archivePath(ctx.cacheDir, state.sha256), { force: true }),
    });
  }

  /** A ranged check's 206: the new version, kept for `fetch` to download by delta. */
  private async recordPending(state: HttpCacheState, response: HttpResponse, ctx: RemoteContext): Promise<Observation> {
    response.body.resume();
    const total = totalOfContentRange(response.headers['content-range']);
    const { etag, 'last-modified': lastModified } = response.headers;
    if (total === undefined || (!etag && !lastModified)) {
      ctx.logger.info({ url: this.display, reason: 'the ranged answer named no size or no validator' }, 'delta download not possible, downloading the whole archive');
      if (ctx.isolate) return checkInChild(this.url, this.config, this.display, ctx);
      return observationOf(await this.store(await this.get(this.url, {}, ctx), ctx));
    }
    const pending: PendingVersion = { version: versionOf(etag, total, lastModified, ''), bytes: total, ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) };
    // A server that ignores conditional requests: the cached version, still.
    if (pending.version === state.version) return observationOf(state);
    if (pending.version !== state.pending?.version) await onDisk(ctx.cacheDir, () => saveState(ctx.cacheDir, { ...state, pending }));
    ctx.logger.debug({ url: this.display, version: pending.version, bytes: total }, 'http remote changed');
    return observationOf(pending);
  }

  async fetchSidecar(suffix: string, ctx: RemoteContext): Promise<Buffer> {
    const url = new URL(this.url);
    // The suffix belongs to the path: a query string (pre-signed URL) stays at the end.
    url.pathname += suffix;
    const response = await this.get(url.href, {}, ctx);
    return readSmallBody(response.body, this.display, maxSidecarBytes);
  }

  /** The cached state, when its archive is still there. */
  private async cachedState(ctx: RemoteContext): Promise<HttpCacheState | undefined> {
    const state = await loadState(ctx.cacheDir, this.urlKey);
    return state && existsSync(archivePath(ctx.cacheDir, state.sha256)) ? state : undefined;
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
 * DESIGN §4: the ETag; without one, a digest of Content-Length and Last-Modified; without
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

function observationOf(state: HttpCacheState | PendingVersion): Observation {
  const detail: Record<string, string> = 'sha256' in state ? { sha256: state.sha256 } : {};
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
