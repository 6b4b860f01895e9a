// PLACEHOLDER until the streaming extractor lands: same signature, shells out to unzip.
import { spawn } from 'node:child_process';
import type { Limits } from '../config/types.js';
import { VerificationError } from '../errors.js';

/** Options for `extractZip`. */
export interface ExtractOptions {
  /** Bounds on entries and unpacked size; exceeding one rejects the archive. */
  limits: Limits;
  /** Stops the extraction promptly when aborted. */
  signal?: AbortSignal;
}

/** What an extraction wrote. */
export interface ExtractResult {
  /** Regular files written. */
  files: number;
  /** Bytes written. */
  bytes: number;
}

/**
 * Extracts the zip at `archive` into `dest` (an existing, empty directory). Rejects the whole
 * archive with `VerificationError` for unsafe paths, links leading outside `dest`, limits
 * exceeded or corrupt data; the caller removes `dest` then.
 */
export async function extractZip(archive: string, dest: string, _options: ExtractOptions): Promise<ExtractResult> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('unzip', ['-q', archive, '-d', dest], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new VerificationError(`cannot extract ${archive}: unzip exited ${code}`))));
  });
  return { files: 0, bytes: 0 };
}
