import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Limits, VerifyConfig } from '../config/types.js';
import { RemoteError } from '../errors.js';
import { privateFileMode } from '../util/modes.js';
import { extractZip } from '../extract/zip.js';
import { verifyArchive, type SidecarReader } from '../verify/archive.js';
import type { FetchResult } from './types.js';

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
  limits: Limits;
  signal?: AbortSignal;
}

/** A completed download. */
export interface Download {
  /** sha256 of the bytes, hex. */
  sha256: string;
  bytes: number;
}

/**
 * Streams `body` into `file` through a temporary name, so a cut-off transfer never leaves a
 * file that looks complete. Enforces `limits.maxArchiveBytes` and `expectedBytes`.
 */
export async function downloadTo(body: Readable, file: string, options: DownloadOptions): Promise<Download> {
  const temp = `${file}.part-${process.pid}`;
  const hash = createHash('sha256');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > options.limits.maxArchiveBytes) {
        done(new RemoteError(options.display, `archive is larger than the limit of ${options.limits.maxArchiveBytes} bytes`));
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(body, meter, createWriteStream(temp, { mode: privateFileMode }), options.signal ? { signal: options.signal } : {});
    if (options.expectedBytes !== undefined && bytes !== options.expectedBytes) {
      throw new RemoteError(options.display, `download truncated: got ${bytes} of ${options.expectedBytes} bytes`);
    }
    await rename(temp, file);
    return { sha256: hash.digest('hex'), bytes };
  } catch (error) {
    await rm(temp, { force: true });
    if (error instanceof RemoteError) throw error;
    // A connection cut mid-body surfaces as a bare `aborted` (ECONNRESET): say what it means.
    const reason = (error as NodeJS.ErrnoException).code === 'ECONNRESET' ? 'connection closed mid-body' : (error as Error).message;
    const of = options.expectedBytes !== undefined ? ` of ${options.expectedBytes}` : '';
    throw new RemoteError(options.display, `download failed after ${bytes}${of} bytes: ${reason}`, { cause: error });
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
}

/** Verifies (when configured) and extracts the archive `file` into `into`. */
export async function unpackArchive(file: string, into: string, options: UnpackOptions): Promise<FetchResult> {
  // Verification happens before a single byte is extracted (DESIGN §6 step 3).
  const verified = await verifyArchive(file, options.verify, options.readSidecar, {
    sha256: options.sha256,
    ...(options.display !== undefined ? { display: options.display } : {}),
  });
  const result = await extractZip(file, into, {
    limits: options.limits,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.archiveRoot ? { root: options.archiveRoot } : {}),
  });
  const detail: Record<string, string> = {};
  if (verified.trustedComment !== undefined) detail.trustedComment = verified.trustedComment;
  if (verified.checks.length) detail.verified = verified.checks.join(',');
  return { contentId: `sha256:${options.sha256}`, bytesDownloaded: options.bytesDownloaded, files: result.files, detail };
}
