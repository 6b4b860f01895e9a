import { VerificationError } from '../../errors.js';
import { checkLinkTarget } from '../../util/symlink-check.js';
import type { GitRunner } from './run.js';

/**
 * Symlinks in a git release must stay inside it (DESIGN §10), as the zip extractor and the
 * local-directory copy require: a link that is absolute or climbs out of the release would let
 * a repository point the app (or a hook running as root) at any file of this host. Targets are
 * read from the tree's blobs *before* anything is checked out, so a refused tree writes nothing.
 *
 * Paths and targets are handled as latin1 strings (one char per byte): git stores bytes, and
 * decoding them as UTF-8 would map different invalid names onto the same replacement character,
 * which could make two links look like one while resolving.
 */

/** Hops through other symlinks allowed while resolving one target (Linux's MAXSYMLINKS). */

/**
 * Every symlink of one release (the tree, and the trees of its submodules), by path relative
 * to the release root. Links are checked as trees are added, resolving through the links
 * already known, so a submodule's link that climbs through the superproject's links is caught.
 */
export class ReleaseLinks {
  private readonly targets = new Map<string, string>();

  /**
   * @param what What the release is made from, for messages, e.g. `commit 1a2b… of <url>`.
   */
  constructor(private readonly what: string) {}

  /**
   * Adds the links of a tree checked out at `prefix` (`''` = the release root) and checks
   * them. Throws `VerificationError` naming the link and its target when one is empty,
   * absolute, leads outside the release or is part of a loop.
   */
  add(prefix: string, links: ReadonlyMap<string, string>): void {
    const added: string[] = [];
    for (const [path, target] of links) {
      const full = prefix ? `${prefix}/${path}` : path;
      this.targets.set(full, target);
      added.push(full);
    }
    for (const path of added) {
      const target = this.targets.get(path)!;
      checkLinkTarget(path, target, this.targets, (why) =>
        new VerificationError(`refusing ${this.what}: symlink ${JSON.stringify(display(path))} -> ${JSON.stringify(display(target))} ${why}`));
    }
  }
}

/**
 * Reads the targets of symlink blobs: `links` maps path -> blob id; returns path -> target.
 * One `git cat-file --batch` for all of them, however many there are.
 */
export async function readLinkTargets(git: GitRunner, gitDir: string, links: ReadonlyMap<string, string>): Promise<Map<string, string>> {
  const targets = new Map<string, string>();
  if (links.size === 0) return targets;
  const ids = [...new Set(links.values())];
  const output = await git(['cat-file', '--batch'], { gitDir, local: true, input: `${ids.join('\n')}\n`, encoding: 'latin1' });
  const blobs = new Map<string, string>();
  let at = 0;
  for (const id of ids) {
    // Each answer is `<id> <type> <size>\n<content>\n`; sizes are bytes, and latin1 keeps
    // one char per byte, so the content can be sliced by size.
    const eol = output.indexOf('\n', at);
    const header = /^([0-9a-f]+) blob (\d+)$/.exec(output.slice(at, eol));
    if (eol === -1 || !header || header[1] !== id) {
      throw new Error(`unexpected answer from git cat-file for symlink blob ${id}: ${JSON.stringify(output.slice(at, at + 80))}`);
    }
    const size = Number(header[2]);
    blobs.set(id, output.slice(eol + 1, eol + 1 + size));
    at = eol + 1 + size + 1;
  }
  for (const [path, id] of links) targets.set(path, blobs.get(id)!);
  return targets;
}

// Bytes back to text for messages (invalid UTF-8 shows as replacement characters).
function display(latin1: string): string {
  return Buffer.from(latin1, 'latin1').toString('utf8');
}
