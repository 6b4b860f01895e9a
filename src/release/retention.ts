/** What retention needs to know about a release. */
export interface RetainedRelease {
  id: string;
  status: 'good' | 'failed';
}

/**
 * Decides which releases to remove (pure). Keeps the newest `keep` good releases, always the
 * current and the previous one, and the newest failed release for inspection; every other
 * failed release goes first. Ids sort by time, so "newest" is the largest id.
 */
export function planPrune(
  releases: readonly RetainedRelease[],
  pinned: { current?: string | undefined; previous?: string | undefined },
  keep: number,
): string[] {
  const newestFirst = [...releases].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
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
