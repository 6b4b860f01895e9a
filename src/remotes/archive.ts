import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import type { Limits, VerifyConfig } from '../config/types.js';
import { RemoteError, VerificationError } from '../errors.js';
import { privateFileMode } from '../util/modes.js';
import { extractZip, prepareExtraction, type ExtractOptions, type PreparedExtraction } from '../extract/zip.js';
import type { EarlyExtraction } from '../delta/attempt.js';
import { verifyArchive, type ArchiveVerification, type SidecarReader } from '../verify/archive.js';
import { diskCodeOf, diskError } from '../util/disk-errors.js';
import { headBytes } from './not-a-zip.js';
import type { FetchResult, RemoteContext } from './types.js';
import { archiveOptionsOf, type ArchiveOptions } from './options.js';
import { processAlive } from '../util/process-alive.js';
import { reuseDetail, type ReleaseFiles } from '../reuse/release-files.js';

/**
 * What the zip-carrying kinds (local `.zip`, HTTP, S3) share: stream a body to a file in the
 * cache, hashing as it goes, and turn a cached archive into a release directory.
 */

/** Options for `downloadTo`. */
export interface DownloadOptions {
  /** Remote URL without credentials, for error messages. */
  display: string;
  /** Bytes the remote announced (Content-Length); a different count is an error. */
  expectedBytes?: number;
  /** The body is gzip-encoded (HTTP `Content-Encoding: gzip`): store it decoded. */
  gunzip?: boolean;
  limits: Limits;
  signal?: AbortSignal;
}

/** A completed download. */
export interface Download {
  /** sha256 of the bytes, hex. */
  sha256: string;
  bytes: number;
  /** The first bytes of the content, to tell what arrived when it is not a zip. */
  head: Buffer;
}

/**
 * Streams `body` into `file` through a temporary name, so a cut-off transfer never leaves a
 * file that looks complete. Enforces `limits.maxArchiveBytes` and `expectedBytes`.
 */
export async function downloadTo(body: Readable, file: string, options: DownloadOptions): Promise<Download> {
  const temp = `${file}.part-${process.pid}`;
  await removeStaleParts(file);
  const hash = createHash('sha256');
  let bytes = 0;
  // Bytes as they came over the wire (before decoding): what Content-Length counts.
  let received = 0;
  let head = Buffer.alloc(0);
  // Only a decoded body needs a counter of its own before the decoder.
  const wire = options.gunzip
    ? [
        new Transform({
          transform(chunk: Buffer, _enc, done) {
            received += chunk.length;
            done(null, chunk);
          },
        }),
        createGunzip(),
      ]
    : [];
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (!options.gunzip) received += chunk.length;
      if (bytes > options.limits.maxArchiveBytes) {
        done(new RemoteError(options.display, `archive is larger than the limit of ${options.limits.maxArchiveBytes} bytes`));
        return;
      }
      if (head.length < headBytes) head = Buffer.concat([head, chunk.subarray(0, headBytes - head.length)]);
      hash.update(chunk);
      done(null, chunk);
    },
  });
  // Bytes that arrived but sat in the body's buffer when the connection failed count as
  // received (a body cut right after its first packet is not "0 bytes"); the pipeline drops
  // that buffer, so it is measured when the body fails, or now if it already has.
  let stranded = 0;
  if (body.destroyed) stranded = body.readableLength;
  else body.once('error', () => (stranded = body.readableLength));
  const stages: (Readable | NodeJS.WritableStream | NodeJS.ReadWriteStream)[] = [body, ...wire, meter, createWriteStream(temp, { mode: privateFileMode })];
  try {
    await pipeline(stages, options.signal ? { signal: options.signal } : {});
    if (options.expectedBytes !== undefined && received !== options.expectedBytes) {
      throw new RemoteError(options.display, `download truncated: got ${received} of ${options.expectedBytes} bytes`);
    }
    await rename(temp, file);
    return { sha256: hash.digest('hex'), bytes, head };
  } catch (error) {
    await rm(temp, { force: true });
    if (error instanceof RemoteError) throw error;
    if (diskCodeOf(error)) throw diskError(error, dirname(file));
    const arrived = received + stranded;
    // A connection cut mid-body surfaces as a bare `aborted` (ECONNRESET): say what it means.
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ECONNRESET' ? 'connection closed mid-body' : code?.startsWith('Z_') ? `the gzip encoding of the body is corrupt (${(error as Error).message})` : (error as Error).message;
    const of = options.expectedBytes !== undefined ? ` of ${options.expectedBytes}` : '';
    throw new RemoteError(options.display, `download failed after ${arrived}${of} bytes: ${reason}`, { cause: error });
  }
}

/** Options for `unpackArchive`. */
export interface UnpackOptions {
  limits: Limits;
  verify: VerifyConfig;
  /** Reads `<remote><suffix>` for signature and digest checks. */
  readSidecar?: SidecarReader;
  /** sha256 of the archive: the release's content id (also reused by the sha256 check). */
  sha256: string;
  /** Remote URL without credentials, for verification messages. */
  display?: string;
  /** Bytes this fetch transferred (0 when the archive came from the cache). */
  bytesDownloaded: number;
  signal?: AbortSignal;
  /** Deploy only this directory of the archive, or `auto` (the `archive-root` key). */
  archiveRoot?: string;
  /** Keep symlinks that lead outside the release (`allow-external-links`). */
  allowExternalLinks?: boolean;
  /** The current release to reuse unchanged files from, and where to list the files written. */
  releaseFiles?: ReleaseFiles;
  /** The verification already done on exactly these bytes (a delta-rebuilt archive): not repeated. */
  verified?: ArchiveVerification;
  /** The extraction a delta download started on these bytes while it verified them: finished (and closed) here. */
  prepared?: PreparedExtraction;
}

/** What the extractor takes of the unpack options. */
function extractOptionsOf(options: Pick<UnpackOptions, 'limits' | 'signal' | 'archiveRoot' | 'allowExternalLinks' | 'releaseFiles'>): ExtractOptions {
  return {
    limits: options.limits,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.archiveRoot ? { root: options.archiveRoot } : {}),
    ...(options.allowExternalLinks ? { allowExternalLinks: true } : {}),
    ...(options.releaseFiles ? { releaseFiles: options.releaseFiles } : {}),
  };
}

/** The extraction into `into` a zip remote's delta download starts while it hashes the rebuilt archive (see `EarlyExtraction`). */
export function extractWhileVerifying(config: ArchiveOptions, ctx: RemoteContext, into: string): EarlyExtraction {
  const options = extractOptionsOf({ ...config, ...contextOptions(ctx) });
  return { into, start: (archive) => prepareExtraction(archive, into, options) };
}

/** The unpack options a zip remote takes from its settings and the fetch's context, the same for every kind. */
export function unpackSettings(config: ArchiveOptions, ctx: RemoteContext, readSidecar: SidecarReader): Omit<UnpackOptions, 'sha256' | 'bytesDownloaded' | 'verified' | 'display'> {
  return {
    ...archiveOptionsOf(config),
    readSidecar,
    ...contextOptions(ctx),
  };
}

/** What a fetch's context adds to the unpack (and extract) options. */
function contextOptions(ctx: RemoteContext): Pick<UnpackOptions, 'signal' | 'releaseFiles'> {
  return { ...(ctx.signal ? { signal: ctx.signal } : {}), ...(ctx.releaseFiles ? { releaseFiles: ctx.releaseFiles } : {}) };
}

/** Verifies (when configured) and extracts the archive `file` into `into`. */
export async function unpackArchive(file: string, into: string, options: UnpackOptions): Promise<FetchResult> {
  // Verification happens before a single byte is extracted: refused content never reaches the
  // disk. A delta-rebuilt archive was verified as it was rebuilt.
  const verified = options.verified ?? await verifyArchive(file, options.verify, options.readSidecar, {
    sha256: options.sha256,
    ...(options.display !== undefined ? { display: options.display } : {}),
  });
  let result;
  // The prepared extraction names the archive where the delta rebuilt it.
  const opened = options.prepared?.archive ?? file;
  try {
    const extract = extractOptionsOf(options);
    result = options.prepared ? await options.prepared.finish(extract) : await extractZip(file, into, extract);
  } catch (error) {
    // The reader names the cached copy; the operator knows the archive by its URL.
    if (error instanceof VerificationError && options.display !== undefined && error.message.includes(opened)) {
      throw new VerificationError(`${error.message.replace(opened, `archive from ${options.display}`)} (cached at ${file})`, { cause: error });
    }
    throw error;
  } finally {
    options.prepared?.close();
  }
  const detail: Record<string, string> = {};
  if (verified.trustedComment !== undefined) detail.trustedComment = verified.trustedComment;
  if (verified.checks.length) detail.verified = verified.checks.join(',');
  if (options.releaseFiles) Object.assign(detail, reuseDetail(result.reusedFiles ?? 0, result.files, result.reusedBytes ?? 0));
  return { contentId: `sha256:${options.sha256}`, bytesDownloaded: options.bytesDownloaded, files: result.files, detail };
}

/**
 * Removes partial files (`<name>.part-<pid>`) next to `file` left by runs that died mid-way
 * (`kill -9`, power loss): downloads, delta rebuilds and what those set aside, whatever the
 * name: the pid in their name is no longer alive. A live one may be another app's work on the
 * same remote's cache and is left alone.
 */
export async function removeStaleParts(file: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dirname(file));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/\.part-(\d+)$/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || processAlive(pid)) continue;
    await rm(join(dirname(file), name), { force: true });
  }
}

