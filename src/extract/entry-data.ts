import { crc32, inflateRaw, inflateRawSync } from 'node:zlib';
import { VerificationError } from '../errors.js';
import { readAt } from './read-at.js';
import type { RawEntry } from './central-directory.js';

/**
 * Reads the archive front to back through a window of a few MiB, so many small entries cost
 * one read(2) instead of two each. The buffer is reused on every refill (fresh buffers are
 * garbage V8 collects late, which shows as RSS): a slice is only valid until the next call,
 * so callers copy what they hand to the thread pool.
 */
export class ArchiveWindow {
  private buffer: Buffer = Buffer.alloc(0);
  private spare: Buffer = Buffer.alloc(0);
  private start = 0;

  constructor(
    private readonly fd: number,
    private readonly size: number,
    /** Offset where the central directory starts: no entry data lies beyond it. */
    private readonly dataEnd: number,
  ) {}

  /** `length` bytes at `offset`, or fewer when the archive ends first. */
  slice(offset: number, length: number): Buffer {
    const from = offset - this.start;
    if (from < 0 || from + length > this.buffer.length) {
      const want = Math.min(Math.max(this.size, length), this.dataEnd - offset);
      if (this.spare.length < want) this.spare = Buffer.allocUnsafe(want);
      this.buffer = want > 0 ? readAt(this.fd, offset, want, this.spare) : Buffer.alloc(0);
      this.start = offset;
      return this.buffer.subarray(0, length);
    }
    return this.buffer.subarray(from, from + length);
  }
}

/**
 * Output may not exceed the declared size by even one byte: that is what bounds a zip bomb,
 * whatever its headers claim. One extra byte of room lets us tell "too long" from "exact".
 */
function inflateOptions(entry: RawEntry): { maxOutputLength: number; chunkSize: number } {
  // An output chunk the size of the file: one allocation per entry instead of 16 KiB pieces
  // concatenated, which is most of the garbage (and so of the RSS) for many small files.
  return { maxOutputLength: entry.uncompressedSize + 1, chunkSize: Math.max(64, Math.min(entry.uncompressedSize + 1, 1024 * 1024)) };
}

function inflateFailure(entry: RawEntry, archive: string, error: unknown): VerificationError {
  const tooLong = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
  const why = tooLong ? 'inflates beyond its declared size' : `cannot be inflated: ${(error as Error).message}`;
  return new VerificationError(`corrupt zip ${archive}: entry ${JSON.stringify(entry.name)} ${why}`, { cause: error });
}

/** Inflates (or passes through) a whole entry on this thread and checks size and CRC. */
export function decodeSync(entry: RawEntry, compressed: Buffer, archive: string): Buffer {
  let data = compressed;
  if (entry.method === 8) {
    try {
      data = inflateRawSync(compressed, inflateOptions(entry));
    } catch (error) {
      throw inflateFailure(entry, archive, error);
    }
  }
  checkContent(entry, data.length, crc32(data), archive);
  return data;
}

/** Inflates a whole entry on libuv's thread pool and checks size and CRC. */
export function decodeAsync(entry: RawEntry, compressed: Buffer, archive: string): Promise<Buffer> {
  if (entry.method !== 8) return Promise.resolve(decodeSync(entry, compressed, archive));
  return new Promise((resolve, reject) => {
    inflateRaw(compressed, inflateOptions(entry), (error, data) => {
      if (error) return reject(inflateFailure(entry, archive, error));
      try {
        checkContent(entry, data.length, crc32(data), archive);
        resolve(data);
      } catch (failure) {
        reject(failure);
      }
    });
  });
}

/** Rejects content whose length or CRC-32 differs from the central directory's. */
export function checkContent(entry: RawEntry, length: number, crc: number, archive: string): void {
  if (length !== entry.uncompressedSize) {
    throw new VerificationError(`corrupt zip ${archive}: entry ${JSON.stringify(entry.name)} has ${length} bytes, ${entry.uncompressedSize} declared`);
  }
  if (crc !== entry.crc32) {
    throw new VerificationError(`corrupt zip ${archive}: entry ${JSON.stringify(entry.name)} fails its CRC check`);
  }
}
