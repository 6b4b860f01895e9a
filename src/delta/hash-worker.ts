import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { HashJob, HashAnswer } from './hash-ranges.js';

// The worker thread of `hashRanges`: reads the ranges in order and answers their sha256.

const { ranges } = workerData as HashJob;
const hash = createHash('sha256');
const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
let answer: HashAnswer;
try {
  for (const { fd, at, length } of ranges) {
    for (let done = 0; done < length; ) {
      const read = readSync(fd, buffer, 0, Math.min(buffer.length, length - done), at + done);
      if (read === 0) throw new Error(`ended early at ${at + done}`);
      hash.update(buffer.subarray(0, read));
      done += read;
    }
  }
  answer = { sha256: hash.digest('hex') };
} catch (error) {
  answer = { error: (error as Error).message, ...((error as NodeJS.ErrnoException).code ? { code: (error as NodeJS.ErrnoException).code } : {}) };
}
parentPort!.postMessage(answer);
