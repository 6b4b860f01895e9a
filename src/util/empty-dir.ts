import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Removes everything inside `dir`, keeping `dir` itself (its mode and owner) for another try. */
export async function emptyDir(dir: string): Promise<void> {
  for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
}
