import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { privateFileMode } from './modes.js';

/**
 * Writes a small private file (0600) so that readers, and a run after a `kill -9`, see the
 * old content or the new, never half of it: a temp file beside it, then rename(2). With
 * `sync`, the data is flushed before the rename, so a power cut cannot leave an empty file
 * either (records that must outlive the state file).
 */
export async function writePrivateFileAtomic(path: string, text: string | Uint8Array, options: { sync?: boolean } = {}): Promise<void> {
  const temp = `${path}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    const handle = await open(temp, 'w', privateFileMode);
    try {
      await handle.writeFile(text);
      if (options.sync) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
