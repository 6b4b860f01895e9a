import { readSync } from 'node:fs';

/** Reads exactly `length` bytes at `position`, or fewer when the file ends first. */
export function readAt(fd: number, position: number, length: number, into?: Buffer): Buffer {
  const buffer = into ?? Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return buffer.subarray(0, done);
}

/**
 * `readAt` on `fd` into one reused buffer: each result is valid only until the next read.
 * For callers that read thousands of small headers and keep only values taken from them
 * (a fresh buffer each was a good part of checking 20,000 headers, in allocation and garbage
 * collection).
 */
export function scratchReader(fd: number, size = 64 * 1024): (position: number, length: number) => Buffer {
  const scratch = Buffer.allocUnsafe(size);
  return (position, length) => readAt(fd, position, length, length <= size ? scratch : undefined);
}
