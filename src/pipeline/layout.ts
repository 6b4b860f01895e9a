import { existsSync, realpathSync } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { AppConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';

/**
 * Refuses layouts where two links would share one `releases/` directory and one state: the
 * second link would be told "up to date" and pointed at the first one's tree. Also refuses a
 * link inside another app's `releases/`, which pruning would delete.
 */
export async function checkLayout(app: AppConfig): Promise<void> {
  const releasesDir = join(app.deployDir, 'releases');
  // Judged on the real path: a symlinked directory must not lead into another app's releases.
  for (let dir = realDir(app.deployDir); dirname(dir) !== dir; dir = dirname(dir)) {
    if (basename(dir) === 'releases' && existsSync(join(dirname(dir), '.repo-deploy'))) {
      throw layoutError(app, `is inside ${dir}, the releases directory of the app deployed in ${dirname(dir)}: choose a link outside it`);
    }
  }
  let names: string[];
  try {
    names = await readdir(app.deployDir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(app.deployDir, name);
    // The swap's own temporary links are not links an operator made.
    if (path === app.local || name.startsWith('.current.tmp-')) continue;
    try {
      if (!(await lstat(path)).isSymbolicLink()) continue;
      if (dirname(resolve(app.deployDir, await readlink(path))) !== releasesDir) continue;
    } catch {
      continue;
    }
    throw layoutError(
      app,
      `shares ${releasesDir} and its state with the link ${path}: each link needs its own directory (set local = DIR/${basename(app.local)} in another directory), or remove ${path} if it is no longer used`,
    );
  }
}

function layoutError(app: AppConfig, message: string): ConfigError {
  const key = app.name === 'default' ? 'local' : `[app ${app.name}] local`;
  // `local` may come from the file, the environment or -l: name the file without a line.
  const source = app.source.replace(/:\d+$/, '');
  return new ConfigError([{ source, key, value: app.local, message: `link ${app.local} ${message}` }]);
}

/** The real path of `dir`, or of its nearest existing ancestor with the rest appended. */
function realDir(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    const parent = dirname(dir);
    return parent === dir ? dir : join(realDir(parent), basename(dir));
  }
}
