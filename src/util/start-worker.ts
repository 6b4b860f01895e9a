import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

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
