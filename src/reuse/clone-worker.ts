import { parentPort } from 'node:worker_threads';
import { sendableError, type SentError } from '../util/start-worker.js';
import { cloneBatch, type CloneTask, type CloneWhere } from './clone-sync.js';

// A thread of `cloneFiles`: clones each batch it is sent and answers the paths it cloned, or
// the error that stopped it.

/** @internal a batch to clone. */
export interface CloneRequest {
  tasks: CloneTask[];
  where: CloneWhere;
}

/** @internal the answer to a batch. */
export type CloneAnswer = { cloned: string[] } | SentError;

parentPort!.on('message', ({ tasks, where }: CloneRequest) => {
  let answer: CloneAnswer;
  try {
    answer = { cloned: cloneBatch(tasks, where) };
  } catch (error) {
    answer = sendableError(error);
  }
  parentPort!.postMessage(answer);
});
