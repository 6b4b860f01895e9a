import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { installedFilesChanged } from './installed-files.js';

/**
 * Starts the worker thread whose module is `name` beside the module at `from` (its
 * `import.meta.url`). Built, both are .js files. Under tsx (tests) both are .ts, and the
 * thread registers tsx before it imports its module (a thread does not inherit the loader).
 */
export function startWorker(name: string, from: string, options: WorkerOptions = {}): Worker {
  if (!from.endsWith('.ts')) return new Worker(fileURLToPath(new URL(`./${name}.js`, from)), options);
  const entry = new URL(`./${name}.ts`, from).href;
  // Resolved here: the thread's own imports resolve from the working directory.
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { ...options, eval: true });
}

/**
 * False once repo-deploy's installed files changed under this process (an upgrade without a
 * restart): a thread would load the new version's module, as a child process would (see
 * `installedFilesChanged`). The work then runs on the calling thread.
 */
export function workersUsable(): boolean {
  return installedFilesChanged() === undefined;
}

/** An error as a thread sends it: its message and the fields the disk messages read. */
export interface SentError {
  error: string;
  code?: string;
  syscall?: string;
  path?: string;
}

/** `error` as a thread posts it. */
export function sendableError(error: unknown): SentError {
  const { code, syscall, path } = error as NodeJS.ErrnoException;
  return { error: (error as Error).message, ...(code ? { code } : {}), ...(syscall ? { syscall } : {}), ...(path ? { path } : {}) };
}

/** The error a thread sent, as this thread throws it. */
export function receivedError({ error, ...fields }: SentError): Error {
  return Object.assign(new Error(error), fields);
}
