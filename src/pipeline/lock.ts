import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { LockBusyError } from '../errors.js';

/** A held lock; `release()` frees it. */
export interface Lock {
  release(): Promise<void>;
}

/**
 * Takes the lock of the app deployed in `deployDir`, shared by the daemon and any `-f` run.
 *
 * The lock is a listening socket in Linux's abstract namespace, named after the deploy
 * directory. The kernel frees it the instant its holder dies, even by `kill -9`, so a lock is
 * never left behind and never waited on: there is no stale file to judge and take over, and
 * no race between two processes taking over the same stale file. Throws `LockBusyError`
 * when another process holds it.
 */
export async function acquireLock(deployDir: string, app: string): Promise<Lock> {
  return listenExclusive(lockName(deployDir), () => new LockBusyError(`app ${app} is busy: another repo-deploy run holds its lock (deploy dir ${deployDir}); try again when it ends`));
}

/**
 * Taken by a daemon for each of its apps for as long as it runs: a second daemon for the same
 * deploy directory would double every check and fight over hooks. Throws what `busy` returns
 * when another daemon holds it. Same mechanism as the app lock, under another name.
 */
export async function acquireDaemonLock(deployDir: string, busy: () => Error): Promise<Lock> {
  return listenExclusive(lockName(deployDir, 'daemon'), busy);
}

/**
 * Takes the lock of one remote's cache directory if it is free; undefined when another process
 * holds it. Held by a delta rebuild, which may turn the cached archive into the new one: two
 * apps with the same remote and cache share that directory, and must not both use the archive
 * while one of them changes it.
 */
export async function tryCacheLock(cacheDir: string): Promise<Lock | undefined> {
  return listenExclusive(lockName(cacheDir, 'cache'), () => new LockBusyError(`cache ${cacheDir} is in use`)).catch((error: unknown) => {
    if (error instanceof LockBusyError) return undefined;
    throw error;
  });
}

async function listenExclusive(name: string, busy: () => Error): Promise<Lock> {
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(busy());
      } else {
        reject(new Error(`error taking lock ${name.slice(1)}: ${error.message}`, { cause: error }));
      }
    });
    server.listen({ path: name, exclusive: true }, () => resolve());
  });
  // The lock must not keep the event loop alive on its own.
  server.unref();
  return {
    release: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function lockName(deployDir: string, kind = ''): string {
  let dir = deployDir;
  try {
    dir = realpathSync(deployDir);
  } catch {
    // Not created yet: the configured path names it as well as any.
  }
  return `\0repo-deploy${kind ? `-${kind}` : ''}/${createHash('sha256').update(dir).digest('hex').slice(0, 32)}`;
}

/**
 * Like `acquireLock`, but retries for up to `waitMs`: for operator commands (`rollback`,
 * `resume`) that should not fail because the daemon is in the middle of a routine check.
 */
export async function acquireLockWaiting(deployDir: string, app: string, waitMs: number): Promise<Lock> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await acquireLock(deployDir, app);
    } catch (error) {
      if (!(error instanceof LockBusyError) || Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
