import type { GetObjectCommandOutput } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { totalOfContentRange } from '../../delta/source.js';
import type { Observation } from '../types.js';
import type { S3Location } from './url.js';

/**
 * A dry run's observation of a changed object (`RemoteContext.peek`): its version (VersionId,
 * else ETag, as a real check reports it) and size from the GetObject response's headers. The
 * body is destroyed unread, so a dry run never downloads the archive.
 */
export function peekedObservation(response: GetObjectCommandOutput, location: S3Location): Observation {
  (response.Body as Readable | undefined)?.destroy();
  // "null" is the VersionId of objects written while versioning was off: it names no content.
  const versionId = response.VersionId && response.VersionId !== 'null' ? response.VersionId : undefined;
  const detail: Record<string, string> = { bucket: location.bucket, key: location.key };
  if (response.ETag) detail.etag = response.ETag;
  // A check with an archive cached asks for a range: the size is the range's total then.
  const total = totalOfContentRange(response.ContentRange) ?? response.ContentLength;
  if (total !== undefined) detail.bytes = String(total);
  return { version: versionId ?? response.ETag ?? 'unknown', detail };
}
