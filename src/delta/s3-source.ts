import type { GetObjectCommandInput, GetObjectCommandOutput } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { messageOf } from '../errors.js';
import { contentRangeMismatch, DeltaDoubt, type RangeSource } from './source.js';

/** Options for `s3RangeSource`. */
export interface S3RangeOptions {
  bucket: string;
  key: string;
  /** The ETag the check saw: every GetObject carries it as `IfMatch` and must answer with it. */
  etag: string;
  /** The VersionId the check saw, on a versioned bucket. */
  versionId?: string;
  /** Size of the object the check saw. */
  total: number;
  /** Sends one GetObject (the remote's client, credentials and abort handling). */
  get(input: GetObjectCommandInput, signal: AbortSignal): Promise<GetObjectCommandOutput>;
}

/**
 * Ranges of an S3 object: one `Range` per GetObject (S3 serves no multi-range answers), each
 * with `IfMatch` on the ETag the check saw, so an object replaced since answers 412. The
 * answer's own ETag and Content-Range are checked too, for stores that ignore `IfMatch`.
 */
export function s3RangeSource(options: S3RangeOptions): RangeSource {
  return {
    async open(start, end, signal): Promise<Readable> {
      const input: GetObjectCommandInput = { Bucket: options.bucket, Key: options.key, Range: `bytes=${start}-${end - 1}`, IfMatch: options.etag };
      if (options.versionId) input.VersionId = options.versionId;
      let response: GetObjectCommandOutput;
      try {
        response = await options.get(input, signal);
      } catch (error) {
        if (signal.aborted) throw error;
        throw new DeltaDoubt(`a ranged GetObject failed: ${messageOf(error)}`, { cause: error });
      }
      const body = response.Body as Readable | undefined;
      const refuse = (reason: string): never => {
        body?.destroy();
        throw new DeltaDoubt(reason);
      };
      if (!body) refuse('a ranged GetObject returned no body');
      if (response.$metadata.httpStatusCode !== 206) refuse(`a ranged GetObject answered HTTP ${response.$metadata.httpStatusCode ?? '?'}, not 206`);
      if (response.ETag !== options.etag) refuse(`the object's ETag moved from ${options.etag} to ${response.ETag ?? 'none'}`);
      const mismatch = contentRangeMismatch(response.ContentRange, start, end, options.total);
      if (mismatch) refuse(mismatch);
      return body!;
    },
  };
}
