import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { privateFileMode } from './modes.js';

/**
 * Writes a small private file (0600) so that readers, and a run after a `kill -9`, see the
 * old content or the new, never half of it: a temp file beside it, then rename(2).
 */
export async function writePrivateFileAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    await writeFile(temp, text, { mode: privateFileMode });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
