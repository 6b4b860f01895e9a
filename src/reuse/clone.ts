import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { receivedError, startWorker, workersUsable } from '../util/start-worker.js';
import type { RecordedFile } from './manifest.js';
import { cloneBatch, type CloneTask, type CloneWhere } from './clone-sync.js';
import type { CloneAnswer, CloneRequest } from './clone-worker.js';

/**
 * Cloning the files of the current release that a new release holds unchanged: a reflink
 * where the filesystem has them (btrfs, XFS: no data is copied), a copy otherwise, or with
 * `reuse-hardlinks` a hard link. What one clone checks is in `clone-sync.ts`.
 */

/** One file to clone: the release path, and what its release recorded about it. */
export interface CloneJob {
  path: string;
  /** What the current release's manifest says; its mode is the new file's mode too. */
  recorded: RecordedFile;
  /**
   * How to find the modification time the new file must have (zip), asked on this thread as
   * the file's batch is handed out (reading it overlaps the clones running); none, or
   * undefined from it: the time of the copy (git).
   */
  mtime?: () => Date | undefined;
}

/** Options for `cloneFiles`. */
export interface CloneOptions {
  /** The current release's directory. */
  from: string;
  /** The new release's directory; the parents of every job already exist there. */
  into: string;
  /**
   * Hard link instead of copying when the times allow it. The link count's change moves the
   * inode's ctime, so ctime is not compared in this mode (see `unchangedSince`).
   */
  hardlinks?: boolean;
  signal?: AbortSignal;
}

/** What `cloneFiles` did. */
export interface CloneResult {
  /** Paths cloned. */
  cloned: Set<string>;
  /** Bytes the cloned files hold (not written). */
  bytes: number;
}

/** Files a thread is handed at a time. */
const batchSize = 256;
/** Files cloned on the calling thread between two turns of its event loop (they may be copies of large files). */
const hereBatchSize = 32;
/**
 * From this many files on, the clones run on worker threads (at most `maxThreads`, one per
 * CPU), in synchronous calls. 20,000 files on XFS here: 0.83-1.06 s on two worker threads
 * (the machine has two CPUs), 1.10-1.26 s in synchronous calls on one thread, 1.33 s as 16
 * clones in flight on the thread pool; the event loop stays free for what runs meanwhile
 * (the hash of a delta's archive). Fewer files clone here.
 */
const threadsFrom = 1024;
const maxThreads = 4;

/**
 * Clones every job it can and returns the paths it cloned; the others are left for the
 * caller to write (nothing is left at their path).
 */
export async function cloneFiles(jobs: readonly CloneJob[], options: CloneOptions): Promise<CloneResult> {
  const where: CloneWhere = { from: options.from, into: options.into, ...(options.hardlinks ? { hardlinks: true } : {}) };
  const result: CloneResult = { cloned: new Set(), bytes: 0 };
  const sizes = new Map(jobs.map((job) => [job.path, Number(job.recorded.size)]));
  const record = (paths: string[]) => {
    for (const path of paths) {
      result.cloned.add(path);
      result.bytes += sizes.get(path)!;
    }
  };
  const batchesOf = (size: number) => Array.from({ length: Math.ceil(jobs.length / size) }, (_, i) => () => jobs.slice(i * size, (i + 1) * size).map(taskOf));
  if (jobs.length >= threadsFrom && workersUsable()) {
    await onThreads(batchesOf(batchSize), where, record, options.signal);
    return result;
  }
  for (const batch of batchesOf(hereBatchSize)) {
    options.signal?.throwIfAborted();
    record(cloneBatch(batch(), where));
    await new Promise((resolve) => setImmediate(resolve));
  }
  options.signal?.throwIfAborted();
  return result;
}

function taskOf(job: CloneJob): CloneTask {
  const mtime = job.mtime?.();
  return { path: job.path, recorded: job.recorded, ...(mtime ? { mtimeMs: mtime.getTime() } : {}) };
}

/**
 * Hands the batches to worker threads, two at a time each (one cloning, one waiting), and
 * records each answer. The first failure (or the abort) stops every thread and is what it
 * rejects with once they have all stopped (none copies anything after that); an error keeps
 * its code, so disk errors read as they do on this thread.
 */
async function onThreads(batches: Array<() => CloneTask[]>, where: CloneWhere, record: (paths: string[]) => void, signal: AbortSignal | undefined): Promise<void> {
  signal?.throwIfAborted();
  const threads = Math.max(1, Math.min(maxThreads, availableParallelism(), Math.ceil(batches.length / 2)));
  const workers: Worker[] = [];
  let stop: (() => void) | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      stop = () => reject(signal!.reason);
      signal?.addEventListener('abort', stop, { once: true });
      let next = 0;
      let answered = 0;
      const send = (worker: Worker) => {
        if (next >= batches.length) return;
        let tasks: CloneTask[];
        try {
          tasks = batches[next++]!();
        } catch (error) {
          return reject(error);
        }
        const request: CloneRequest = { tasks, where };
        worker.postMessage(request);
      };
      for (let i = 0; i < threads; i++) {
        const worker = startWorker('clone-worker', import.meta.url);
        workers.push(worker);
        worker.on('message', (answer: CloneAnswer) => {
          if (!('cloned' in answer)) return reject(receivedError(answer));
          record(answer.cloned);
          if (++answered === batches.length) return resolve();
          send(worker);
        });
        worker.on('error', reject);
        worker.on('exit', (code) => reject(new Error(`a cloning thread exited (${code}) before its batches were done`)));
      }
      for (let round = 0; round < 2; round++) for (const worker of workers) send(worker);
    });
  } finally {
    if (stop) signal?.removeEventListener('abort', stop);
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
