import { VerificationError } from '../errors.js';
import { checkLinkTarget } from '../util/symlink-check.js';
import { readAt } from './read-at.js';
import { decodeSync } from './entry-data.js';
import { readLocalHeader } from './local-header.js';
import type { PlannedEntry } from './plan.js';

/**
 * Reads every symlink entry's target and refuses the archive when one is absolute, empty,
 * holds a NUL, or resolves outside the destination. Resolution follows the archive's *other*
 * symlinks component by component, as the kernel would: checking each target on its own is
 * not enough (`up` -> `..` is harmless, `x` -> `up/..` is not). The destination starts empty,
 * so the archive's own links are the only ones a path can meet.
 */
export function readLinkTargets(fd: number, links: readonly PlannedEntry[], dataEnd: number, archive: string, allowExternal = false): Map<string, string> {
  const targets = new Map<string, string>();
  const read = (offset: number, length: number) => readAt(fd, offset, length);
  for (const link of links) {
    const { start } = readLocalHeader(link.entry, read, dataEnd, archive);
    const data = decodeSync(link.entry, read(start, link.entry.compressedSize), archive);
    targets.set(link.path, data.toString('utf8'));
  }
  for (const [path, target] of targets) {
    checkLinkTarget(path, target, targets, (why) => new VerificationError(`refusing zip ${archive}: symlink ${JSON.stringify(path)} -> ${JSON.stringify(target)} ${why}`), { allowExternal });
  }
  return targets;
}
