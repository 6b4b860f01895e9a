import type { Readable } from 'node:stream';

/**
 * What a delta download asks of a remote: byte ranges of ONE version of the archive. A remote
 * that cannot give exactly those bytes of exactly that version says so with `DeltaDoubt`, and
 * the archive is then downloaded whole, as it would have been without delta downloads.
 */

/** Why a delta download was given up; its message is the reason logged before the full download. */
export class DeltaDoubt extends Error {
  override name = 'DeltaDoubt';
}

/** Why a remote whose record names a cached archive that is gone downloads whole. */
export const lostArchive = 'the cached archive of the previous version is gone (removed, or rebuilt in place by an app sharing the cache)';

/** Byte ranges of one remote object, pinned to the version the check saw. */
export interface RangeSource {
  /**
   * Opens bytes [start, end) of the pinned version. Resolves with the body once the remote has
   * answered with exactly that range of that version; throws `DeltaDoubt` for any other answer
   * (a whole body, another version, 416). The caller consumes or destroys the body.
   */
  open(start: number, end: number, signal: AbortSignal): Promise<Readable>;
}

/** A half-open byte range [start, end). */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses `Content-Range: bytes a-b/total` and checks it is exactly [start, end) of an object
 * of `total` bytes. Returns a reason when it is not, undefined when it is.
 */
export function contentRangeMismatch(header: string | undefined, start: number, end: number, total: number): string | undefined {
  const match = header ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header.trim()) : null;
  if (!match) return `the answer to a range request has no usable Content-Range (${header ?? 'none'})`;
  const [first, last, size] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (size !== total) return `the archive is now ${size} bytes, not the ${total} the check saw`;
  if (first !== start || last !== end - 1) return `asked for bytes ${start}-${end - 1}, got ${first}-${last}`;
  return undefined;
}

/** The total size in `Content-Range: bytes a-b/total`, or undefined. */
export function totalOfContentRange(header: string | undefined): number | undefined {
  const match = header ? /^bytes \d+-\d+\/(\d+)$/.exec(header.trim()) : null;
  return match ? Number(match[1]) : undefined;
}
