import { parentPort, workerData } from 'node:worker_threads';
import { sendableError } from '../util/start-worker.js';
import { hashRangesHere, type HashAnswer, type HashRange } from './hash-ranges.js';

// The worker thread of `hashRanges`: answers the sha256 of the ranges it was given.

let answer: HashAnswer;
try {
  answer = { sha256: hashRangesHere(workerData as HashRange[]) };
} catch (error) {
  answer = sendableError(error);
}
parentPort!.postMessage(answer);
