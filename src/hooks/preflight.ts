import { open } from 'node:fs/promises';

/**
 * Checks a hook's first bytes before running it, to turn two classic traps into messages an
 * operator can act on instead of a baffling "No such file or directory" from the kernel.
 */

/** Bytes read: enough for any sane `#!` line (Linux itself reads at most 256). */
const headBytes = 256;

/** What is wrong with the start of a hook file, or null when it looks runnable. */
export type PreflightProblem = string | null;

/**
 * Reads the head of `path` and reports:
 * - a `#!` line ending in `\r` (CRLF line endings): the kernel would look for an interpreter
 *   named `sh\r` and fail with ENOENT, which reads as if the hook itself were missing;
 * - a file that is neither a `#!` script nor an ELF binary: execve fails with ENOEXEC, and
 *   libc's execvp then quietly runs it with /bin/sh — we refuse instead, because a script
 *   meant for bash or python would half-run under sh.
 * `name` is used in the messages. Throws when the file cannot be read.
 */
export async function preflightHook(path: string, name: string): Promise<PreflightProblem> {
  const handle = await open(path, 'r');
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(headBytes);
    const { bytesRead } = await handle.read(buffer, 0, headBytes, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  if (head[0] === 0x7f && head.subarray(1, 4).toString('latin1') === 'ELF') return null;
  if (head[0] !== 0x23 || head[1] !== 0x21) {
    return (
      `hook ${name} cannot be executed: it has no "#!" interpreter line and is not a binary ` +
      `(exec format error); add one such as "#!/bin/sh" as its first line`
    );
  }
  const newline = head.indexOf(0x0a);
  const firstLine = newline === -1 ? head : head.subarray(0, newline);
  if (firstLine[firstLine.length - 1] === 0x0d) {
    return (
      `hook ${name} has Windows (CRLF) line endings, so its interpreter "${firstLine.subarray(2, -1).toString('utf8').trim()}\\r" ` +
      `cannot be found; convert it with: sed -i 's/\\r$//' ${name}  (or: dos2unix ${name})`
    );
  }
  return null;
}
