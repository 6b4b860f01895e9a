import { constants } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { HookError } from '../errors.js';
import type { HookListing } from './types.js';

/**
 * Which files of a hook directory run, and in what order. The rules follow run-parts(8) and
 * the Elastic Beanstalk platform hooks operators already know, so a directory managed by a
 * package manager or edited in place on a host behaves the same as under those tools.
 */

/**
 * Suffixes package managers and editors leave next to a file they replaced. Running
 * `10-restart.dpkg-old` next to `10-restart` would run the old hook a second time.
 */
const leftoverSuffixes = [
  '.dpkg-old', '.dpkg-new', '.dpkg-dist', '.dpkg-tmp',
  '.rpmnew', '.rpmsave', '.rpmorig',
  '.ucf-old', '.ucf-new', '.ucf-dist',
  '.orig', '.bak', '.swp',
  // Shipped examples (etc/*.d/*.example) must stay inert even if someone makes them executable.
  '.example', '.sample', '.disabled',
];

/** Why a name is never run whatever the file is, or null when the name is acceptable. */
export function skipReasonForName(name: string): string | null {
  if (name.startsWith('.')) return 'hidden file (name starts with ".")';
  if (name.endsWith('~')) return 'editor backup (name ends with "~")';
  const suffix = leftoverSuffixes.find((s) => name.endsWith(s));
  if (suffix) return `package-manager or editor leftover (name ends with "${suffix}")`;
  return null;
}

/** Orders names by their UTF-8 bytes, like run-parts and `LC_ALL=C ls`, never by locale. */
export function compareNameBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * The hooks `dir` holds, in run order, with skipped entries and why. Executable regular
 * files run (a symlink counts when it points to one); subdirectories and non-executable
 * files are skipped. A missing directory means no hooks; anything else that prevents reading
 * it is a HookError naming the path, because silently running no hooks could publish a
 * release the operator meant to gate.
 */
export async function listHooks(dir: string, phase = ''): Promise<HookListing> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { run: [], skipped: [], missing: true };
    const why = code === 'ENOTDIR' ? 'is not a directory' : `cannot be read (${code ?? String(error)})`;
    throw new HookError({ hook: dir, phase, status: null, signal: null }, `hook directory ${dir} ${why}`, { cause: error });
  }
  names.sort(compareNameBytes);
  const listing: HookListing = { run: [], skipped: [], missing: false };
  for (const name of names) {
    const reason = skipReasonForName(name) ?? (await skipReasonForFile(join(dir, name)));
    if (reason) listing.skipped.push({ name, reason });
    else listing.run.push(name);
  }
  return listing;
}

/** Why the file at `path` is not a runnable hook, or null when it is. */
async function skipReasonForFile(path: string): Promise<string | null> {
  let info;
  try {
    // stat, not lstat: a symlink to an executable is a hook, as in run-parts.
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'broken symlink' : `cannot be read (${code ?? String(error)})`;
  }
  if (info.isDirectory()) return 'directory';
  if (!info.isFile()) return 'not a regular file';
  try {
    // access(X_OK) answers for the user the agent runs as, which is who will exec the hook.
    await access(path, constants.X_OK);
  } catch {
    return 'not executable';
  }
  return null;
}

/**
 * True when a skipped entry looks like a hook that was meant to run: a file with an ordinary
 * name that is not executable (a forgotten `chmod +x` on a safety gate), a broken symlink or an
 * unreadable entry. Leftovers, hidden files and subdirectories are skipped on purpose.
 */
export function looksLikeForgottenHook(entry: { name: string; reason: string }): boolean {
  return skipReasonForName(entry.name) === null && entry.reason !== 'directory';
}

/** The warning for a forgotten hook, naming its file and the two ways out. */
export function forgottenHookMessage(phase: string, path: string, reason: string): string {
  return `${phase} hook ${path} is not run: ${reason}; make it an executable file (chmod +x) to run it, or add .disabled to its name to silence this`;
}

/**
 * Warnings for every forgotten hook (see `looksLikeForgottenHook`) and unreadable hook
 * directory of these apps, for `check-config`.
 */
export async function forgottenHooks(apps: readonly { name: string; preHooks: string; postHooks: string; validateHooks?: string }[]): Promise<string[]> {
  const out: string[] = [];
  for (const app of apps) {
    const label = app.name === 'default' ? '' : `[app ${app.name}] `;
    const dirs = [['pre-update', app.preHooks], ['post-update', app.postHooks], ...(app.validateHooks ? [['validate', app.validateHooks] as const] : [])] as const;
    for (const [phase, dir] of dirs) {
      try {
        const listing = await listHooks(dir, phase);
        for (const entry of listing.skipped.filter(looksLikeForgottenHook)) out.push(`${label}${forgottenHookMessage(phase, join(dir, entry.name), entry.reason)}`);
      } catch (error) {
        out.push(`${label}${(error as Error).message}`);
      }
    }
  }
  return out;
}
