// Entry point of the child process that runs one remote operation for the daemon
// (`remotes/isolated.ts`): the remote is built here from the same URL and settings.
import { serveChildJob } from '../util/child-job.js';
import { createRemote } from './index.js';
import type { RemoteJob } from './isolated.js';

serveChildJob(async (job: RemoteJob, { signal, logger }) => {
  const remote = createRemote(job.url, job.config);
  const ctx = { cacheDir: job.cacheDir, logger, signal };
  if (job.op === 'check') return remote.check(ctx);
  return remote.fetch(job.version, job.into, job.releaseFiles ? { ...ctx, releaseFiles: job.releaseFiles } : ctx);
});
