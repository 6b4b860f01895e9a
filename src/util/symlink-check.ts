/** Hops through other symlinks allowed while resolving one target (Linux's MAXSYMLINKS). */
const maxHops = 40;

/**
 * Checks one symlink of a release before it is written (DESIGN §10): refuses an empty target,
 * a NUL byte (symlink(2) would cut the target there), an absolute target, and a target that
 * resolves outside the release or loops. Resolution follows the release's *other* links
 * (`targets`: path -> target, paths relative to the release root, `/`-separated) component by
 * component, as the kernel would: checking each target on its own is not enough (`up` -> `..`
 * is harmless, `x` -> `up/..` is not). Throws what `refuse(why)` returns.
 */
export function checkLinkTarget(path: string, target: string, targets: ReadonlyMap<string, string>, refuse: (why: string) => Error, options: LinkCheckOptions = {}): void {
  if (target === '') throw refuse('has an empty target');
  if (target.includes('\0')) throw refuse('has a NUL byte in its target');
  if (target.startsWith('/') && !options.allowExternal) throw refuse('has an absolute target');
  const verdict = resolveLink(path, target, targets);
  if (verdict === 'outside' && options.allowExternal) return;
  if (verdict !== 'inside') throw refuse(verdict === 'loop' ? 'is part of a symlink loop' : 'leads outside the release');
}

/** Options of `checkLinkTarget`. */
export interface LinkCheckOptions {
  /**
   * `allow-external-links`: keep links that are absolute or lead outside the release, as git,
   * tar and unzip do (empty targets, NUL bytes and loops are still refused). Writers never
   * write through a link, so this cannot put a file outside the release.
   */
  allowExternal?: boolean;
}

/** Resolves `target` as seen from the link at `path`, following the links in `targets`. */
function resolveLink(path: string, target: string, targets: ReadonlyMap<string, string>): 'inside' | 'outside' | 'loop' {
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
