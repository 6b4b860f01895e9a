import { VerificationError } from '../errors.js';
import { readAt } from './central-directory.js';
import { dataStart, decodeSync } from './entry-data.js';
import type { PlannedEntry } from './plan.js';

/** Hops through other symlinks allowed while resolving one target (Linux's MAXSYMLINKS). */
const maxHops = 40;

/**
 * Reads every symlink entry's target and refuses the archive when one is absolute, empty,
 * holds a NUL, or resolves outside the destination. Resolution follows the archive's *other*
 * symlinks component by component, as the kernel would: checking each target on its own is
 * not enough (`up` -> `..` is harmless, `x` -> `up/..` is not). The destination starts empty,
 * so the archive's own links are the only ones a path can meet.
 */
export function readLinkTargets(fd: number, links: readonly PlannedEntry[], dataEnd: number, archive: string): Map<string, string> {
  const targets = new Map<string, string>();
  const read = (offset: number, length: number) => readAt(fd, offset, length);
  for (const link of links) {
    const start = dataStart(link.entry, read, dataEnd, archive);
    const data = decodeSync(link.entry, read(start, link.entry.compressedSize), archive);
    targets.set(link.path, data.toString('utf8'));
  }
  for (const [path, target] of targets) {
    const refuse = (why: string) => new VerificationError(`refusing zip ${archive}: symlink ${JSON.stringify(path)} -> ${JSON.stringify(target)} ${why}`);
    if (target === '') throw refuse('has an empty target');
    if (target.includes('\0')) throw refuse('has a NUL byte in its target');
    if (target.startsWith('/')) throw refuse('has an absolute target');
    const verdict = resolve(path, target, targets);
    if (verdict !== 'inside') throw refuse(verdict === 'loop' ? 'is part of a symlink loop' : 'leads outside the release');
  }
  return targets;
}

/** Resolves `target` as seen from the link at `path`, following links in `targets`. */
function resolve(path: string, target: string, targets: ReadonlyMap<string, string>): 'inside' | 'outside' | 'loop' {
  const stack = path.split('/').slice(0, -1);
  const queue = target.split('/');
  let hops = 0;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return 'outside';
      stack.pop();
      continue;
    }
    stack.push(part);
    const next = targets.get(stack.join('/'));
    if (next === undefined) continue;
    if (++hops > maxHops) return 'loop';
    if (next.startsWith('/')) return 'outside';
    stack.pop();
    queue.unshift(...next.split('/'));
  }
  return 'inside';
}
