/** What retention needs to know about a release. */
export interface RetainedRelease {
  id: string;
  status: 'good' | 'failed';
  /**
   * ISO time it was recorded. Ids carry only whole seconds (and then the version), so two
   * releases made within one second sort by version, not time: this breaks the tie.
   */
  createdAt?: string;
}

/**
 * Decides which releases to remove (pure). Keeps the newest `keep` good releases, always the
 * current and the previous one, and the newest failed release for inspection; every other
 * failed release goes first. "Newest" is by the id's one-second stamp, then the recorded time.
 */
export function planPrune(
  releases: readonly RetainedRelease[],
  pinned: { current?: string | undefined; previous?: string | undefined },
  keep: number,
): string[] {
  const newestFirst = [...releases].sort(newerFirst);
  const isPinned = (id: string) => id === pinned.current || id === pinned.previous;
  const remove: string[] = [];
  let goodKept = newestFirst.filter((r) => r.status === 'good' && isPinned(r.id)).length;
  let failedKept = 0;
  for (const release of newestFirst) {
    if (isPinned(release.id)) continue;
    if (release.status === 'failed') {
      if (failedKept++ >= 1) remove.push(release.id);
    } else if (goodKept < keep) {
      goodKept++;
    } else {
      remove.push(release.id);
    }
  }
  return remove.sort();
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Sorts newest first: by the id's one-second stamp, then the recorded time, then the id. */
function newerFirst(a: RetainedRelease, b: RetainedRelease): number {
  return compare(b.id.slice(0, stampLength), a.id.slice(0, stampLength)) || compare(b.createdAt ?? '', a.createdAt ?? '') || compare(b.id, a.id);
}

/** Length of the `20261121T215501Z` stamp that starts a release id. */
const stampLength = 16;
