import { constants } from 'node:fs';
import { access, open } from 'node:fs/promises';

/**
 * Explains why a hook could not be started. execve(2) reports a missing `#!` interpreter with
 * the same ENOENT as a missing file, so a bare `spawn <hook> ENOENT` reads as if the hook were
 * gone while the hook is right there; the interpreter line says which one it is.
 */

/**
 * The reason, without the phase: e.g. `its interpreter /usr/bin/python4 (from "#!/usr/bin/python4"
 * on the first line of the hook) was not found: install it or correct that line`.
 */
export async function describeSpawnError(path: string, error: unknown): Promise<string> {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ENOENT' && code !== 'EACCES') return codeText(error);
  if (!(await exists(path))) return `the file ${path} is gone (removed while the hooks ran?)`;
  const line = await interpreterLine(path);
  if (!line) {
    return code === 'EACCES'
      ? `permission denied executing ${path} (EACCES): check its mode and that its filesystem is not mounted noexec`
      : codeText(error);
  }
  const interpreter = line.split(/[ \t]+/)[0] ?? '';
  const from = `(from "#!${line}" on the first line of ${path})`;
  if (!(await exists(interpreter))) return `its interpreter ${interpreter} ${from} was not found: install it or correct that line`;
  if (code === 'EACCES' || !(await executable(interpreter))) {
    return `its interpreter ${interpreter} ${from} cannot be executed (${code}): check its mode and that its filesystem is not mounted noexec`;
  }
  return codeText(error);
}

/** What follows `#!` on the first line, trimmed; null when the file is no script. */
async function interpreterLine(path: string): Promise<string | null> {
  let head: Buffer;
  try {
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(256);
      head = buffer.subarray(0, (await handle.read(buffer, 0, 256, 0)).bytesRead);
    } finally {
      await handle.close();
    }
  } catch {
    return null;
  }
  if (head[0] !== 0x23 || head[1] !== 0x21) return null;
  const newline = head.indexOf(0x0a);
  const line = head.subarray(2, newline === -1 ? head.length : newline).toString('utf8').trim();
  return line || null;
}

async function exists(path: string): Promise<boolean> {
  return access(path, constants.F_OK).then(() => true, () => false);
}

async function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(() => true, () => false);
}

/** An errno error as `CODE (message)`, anything else as its text. */
export function codeText(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e?.code ? `${e.code}${e.message ? ` (${e.message})` : ''}` : String(error);
}
