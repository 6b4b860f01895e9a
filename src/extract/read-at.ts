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
