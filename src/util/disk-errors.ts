import { constants, existsSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ExitCode, RepoDeployError } from '../errors.js';

/**
 * Failures of the disk under the agent rather than of the agent: a full filesystem, an
 * exhausted quota, a filesystem mounted read-only. Node reports them as `ENOSPC: no space left
 * on device, write`, which names neither the file nor the disk; these messages name the path
 * being written and say what the operator can do.
 */

const diskCodes = new Set(['ENOSPC', 'EDQUOT', 'EROFS']);

/** The disk holding `path` is full or read-only. */
export class DiskError extends RepoDeployError {
  readonly exitCode = ExitCode.failed;
  /** ENOSPC, EDQUOT or EROFS. */
  readonly code: string;
  /** What was being written (a file or the directory it belongs to). */
  readonly path: string;
  constructor(code: string, path: string, options?: { cause?: unknown }) {
    super(describe(code, path), options);
    this.code = code;
    this.path = path;
  }
}

/** The errno code of `error` or of one of its causes, when it is a disk failure. */
export function diskCodeOf(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof DiskError) return e.code;
    const code = (e as NodeJS.ErrnoException).code;
    if (code && diskCodes.has(code)) return code;
  }
  return undefined;
}

/**
 * `error` as a `DiskError` about `path` (the file or directory that was being written), or
 * `error` itself when it is no disk failure. A `DiskError` already naming a path is kept.
 */
export function diskError(error: unknown, path: string): unknown {
  if (error instanceof DiskError) return error;
  const code = diskCodeOf(error);
  return code ? new DiskError(code, path, { cause: error }) : error;
}

/** Runs `operation`, turning a disk failure into a `DiskError` about `path`. */
export async function onDisk<T>(path: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    const code = await readOnlyMkdir(error);
    throw code ? new DiskError(code, path, { cause: error }) : diskError(error, path);
  }
}

/**
 * `EROFS` when `error` is node's recursive mkdir failing on a read-only filesystem: it reports
 * ENOENT for the missing directory instead. The nearest existing parent tells the truth.
 */
export async function readOnlyMkdir(error: unknown): Promise<string | undefined> {
  const e = error as NodeJS.ErrnoException;
  if (e?.syscall !== 'mkdir' || e.code !== 'ENOENT' || !e.path) return undefined;
  for (let dir = dirname(e.path); dir !== dirname(dir); dir = dirname(dir)) {
    const code = await access(dir, constants.W_OK).then(() => 'writable', (x: NodeJS.ErrnoException) => x.code);
    if (code === 'ENOENT') continue;
    return code === 'EROFS' ? code : undefined;
  }
  return undefined;
}

function describe(code: string, path: string): string {
  if (code === 'EROFS') {
    return `cannot write ${path}: its filesystem is mounted read-only (EROFS); remount it read-write, or point the deploy directory or cache at a writable one, then run again`;
  }
  if (code === 'EDQUOT') {
    return `cannot write ${path}: the disk quota of this user on its filesystem is used up (EDQUOT); free space or raise the quota, then run again`;
  }
  return `cannot write ${path}: the disk holding it is full (ENOSPC); free space there (\`df ${existing(path)}\`), e.g. by keeping fewer releases (\`keep\`) or moving the cache, then run again`;
}

/** `path`, or its nearest parent that exists (a partial file is removed before its error is described). */
function existing(path: string): string {
  let at = path;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  return at;
}
