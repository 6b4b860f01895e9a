import type { Readable } from 'node:stream';
import { httpGet } from '../remotes/http/request.js';
import { contentRangeMismatch, DeltaDoubt, type RangeSource } from './source.js';

/** Options for `httpRangeSource`. */
export interface HttpRangeOptions {
  /** The archive's URL (it may hold credentials: only ever sent to the server). */
  url: string;
  /** The URL without credentials, for messages. */
  display: string;
  /** Size of the version the check saw. */
  total: number;
  /** Its strong ETag, if the server sent one: `If-Range` uses it, and every answer must repeat it. */
  etag?: string;
  /** Its Last-Modified: `If-Range` uses it when there is no strong ETag. */
  lastModified?: string;
  connectTimeoutMs: number;
  readTimeoutMs: number;
}

/**
 * Ranges of an HTTP(S) archive, one `Range` per request, each with `If-Range` on the version
 * the check saw: a server whose archive changed since answers 200 with the whole new body,
 * which is refused here, as is a server that ignores `Range` (also 200).
 */
export function httpRangeSource(options: HttpRangeOptions): RangeSource | undefined {
  const strong = options.etag && !options.etag.startsWith('W/') ? options.etag : undefined;
  const validator = strong ?? options.lastModified;
  if (!validator) return undefined;
  return {
    async open(start, end, signal): Promise<Readable> {
      const response = await httpGet(options.url, options.display, {
        headers: { range: `bytes=${start}-${end - 1}`, 'if-range': validator },
        connectTimeoutMs: options.connectTimeoutMs,
        readTimeoutMs: options.readTimeoutMs,
        signal,
      });
      const refuse = (reason: string): never => {
        response.body.destroy();
        throw new DeltaDoubt(reason);
      };
      if (response.status === 200) refuse('the server answered a range request with the whole archive (it ignores Range, or the archive changed since the check)');
      if (response.status !== 206) refuse(`the server answered a range request with HTTP ${response.status}`);
      const encoding = response.headers['content-encoding']?.trim().toLowerCase();
      if (encoding && encoding !== 'identity') refuse(`the server sent a range with Content-Encoding: ${encoding}`);
      if (strong && response.headers.etag !== strong) refuse(`the archive's ETag moved from ${strong} to ${response.headers.etag ?? 'none'}`);
      const mismatch = contentRangeMismatch(response.headers['content-range'], start, end, options.total);
      if (mismatch) refuse(mismatch);
      return response.body;
    },
  };
}
