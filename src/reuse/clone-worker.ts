import { parentPort } from 'node:worker_threads';
import { cloneBatch, type CloneTask, type CloneWhere } from './clone-sync.js';

// A thread of `cloneFiles`: clones each batch it is sent and answers the paths it cloned, or
// the error that stopped it (its code kept, for the disk messages).

/** @internal a batch to clone. */
export interface CloneRequest {
  id: number;
  tasks: CloneTask[];
  where: CloneWhere;
}

/** @internal the answer to a batch. */
export type CloneAnswer = { id: number; cloned: string[] } | { id: number; error: string; code?: string; syscall?: string; path?: string };

parentPort!.on('message', ({ id, tasks, where }: CloneRequest) => {
  let answer: CloneAnswer;
  try {
    answer = { id, cloned: cloneBatch(tasks, where) };
  } catch (error) {
    const { code, syscall, path } = error as NodeJS.ErrnoException;
    answer = { id, error: (error as Error).message, ...(code ? { code } : {}), ...(syscall ? { syscall } : {}), ...(path ? { path } : {}) };
  }
  parentPort!.postMessage(answer);
});
