// Entry point of the child process that runs one remote operation for the daemon
// (`remotes/isolated.ts`): the remote is built here from the spec the config was parsed into.
import { serveChildJob } from '../util/child-job.js';
import { openRemote } from './index.js';
import type { RemoteJob } from './isolated.js';

serveChildJob(async (job: RemoteJob, { signal, logger }) => {
  const remote = openRemote(job.spec);
  const ctx = { cacheDir: job.cacheDir, logger, signal };
  if (job.op === 'check') return remote.check(ctx);
  if (job.resolved !== undefined) remote.adoptResolved?.(job.resolved);
  return remote.fetch(job.version, job.into, job.releaseFiles ? { ...ctx, releaseFiles: job.releaseFiles } : ctx);
});
