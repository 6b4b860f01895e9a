import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { receivedError, startWorker, workersUsable, type SentError } from '../util/start-worker.js';

/**
 * The sha256 of byte ranges of open files, in order, computed on a worker thread: hashing a
 * large archive is CPU work that would otherwise hold the event loop, and with it everything
 * meant to run meanwhile (a delta download clones the release's unchanged files while its
 * rebuilt archive is hashed).
 */

/** One range: `length` bytes of descriptor `fd` from `at`. */
export interface HashRange {
  fd: number;
  at: number;
  length: number;
}

/** @internal what the worker answers. */
export type HashAnswer = { sha256: string } | SentError;

/**
 * Resolves to the hex sha256 of `ranges`; rejects with what failed (a read's error code kept),
 * or with the abort reason once the thread has stopped (the caller may close the descriptors
 * then). On the calling thread when threads are not usable (`workersUsable`).
 */
export async function hashRanges(ranges: HashRange[], signal?: AbortSignal): Promise<string> {
  signal?.throwIfAborted();
  if (!workersUsable()) return hashRangesHere(ranges);
  const worker = startWorker('hash-worker', import.meta.url, { workerData: ranges });
  let stop: (() => void) | undefined;
  try {
    return await new Promise<string>((resolve, reject) => {
      stop = () => reject(signal!.reason);
      signal?.addEventListener('abort', stop, { once: true });
      worker.once('message', (answer: HashAnswer) => ('sha256' in answer ? resolve(answer.sha256) : reject(receivedError(answer))));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the hashing thread exited (${code}) without an answer`)));
    });
  } finally {
    if (stop) signal?.removeEventListener('abort', stop);
    await worker.terminate();
  }
}

/** `hashRanges` on this thread, in synchronous reads. */
export function hashRangesHere(ranges: readonly HashRange[]): string {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
  for (const { fd, at, length } of ranges) {
    for (let done = 0; done < length; ) {
      const read = readSync(fd, buffer, 0, Math.min(buffer.length, length - done), at + done);
      if (read === 0) throw new Error(`ended early at ${at + done}`);
      hash.update(buffer.subarray(0, read));
      done += read;
    }
  }
  return hash.digest('hex');
}
