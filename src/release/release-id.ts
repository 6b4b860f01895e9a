/**
 * Release ids sort by time and show the version: `20261121T215501Z-3f2a9c1b7e4d`.
 * The timestamp is UTC to the second; the suffix is the first 12 safe characters of the
 * version (a commit id, an ETag, a digest).
 */
export function makeReleaseId(now: Date, version: string, taken: (id: string) => boolean = () => false): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const tail = version.replace(/^(sha256|git-tree|W\/):?/i, '').replace(/[^A-Za-z0-9]/g, '').slice(0, 12) || 'release';
  const base = `${stamp}-${tail}`;
  // Two releases in the same second with the same version (a redeploy after a revert):
  // a counter keeps ids unique and still sorted.
  let id = base;
  for (let n = 2; taken(id); n++) id = `${base}.${n}`;
  return id;
}

/** True for names that are release ids (not staging directories or other leftovers). */
export function isReleaseId(name: string): boolean {
  return /^\d{8}T\d{6}Z-[A-Za-z0-9]+(\.\d+)?$/.test(name);
}
