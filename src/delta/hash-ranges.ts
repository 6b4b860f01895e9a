import { startWorker } from '../util/start-worker.js';

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

/** @internal what the worker is given. */
export interface HashJob {
  ranges: HashRange[];
}

/** @internal what the worker answers. */
export type HashAnswer = { sha256: string } | { error: string; code?: string };

/** Resolves to the hex sha256 of `ranges`; rejects with what failed (a read's error code kept), or the abort reason. */
export function hashRanges(ranges: HashRange[], signal?: AbortSignal): Promise<string> {
  signal?.throwIfAborted();
  const job: HashJob = { ranges };
  return new Promise((resolve, reject) => {
    const worker = startWorker('hash-worker', import.meta.url, { workerData: job });
    const stop = () => {
      reject(signal!.reason);
      void worker.terminate();
    };
    signal?.addEventListener('abort', stop, { once: true });
    const settle = () => signal?.removeEventListener('abort', stop);
    worker.once('message', (answer: HashAnswer) => {
      settle();
      if ('sha256' in answer) resolve(answer.sha256);
      else reject(Object.assign(new Error(answer.error), answer.code ? { code: answer.code } : {}));
    });
    worker.once('error', (error) => {
      settle();
      reject(error);
    });
    worker.once('exit', (code) => {
      settle();
      reject(new Error(`the hashing thread exited (${code}) without an answer`));
    });
  });
}
