/**
 * Runs `work` on every item with at most `limit` running at once, in order of the items. The
 * first failure stops the others from starting new items, aborts `controller` when one is
 * given (so running work can end early, as range requests do), and is what the promise
 * rejects with, once every running item has ended.
 */
export async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>, controller?: AbortController): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        if (!failure) {
          failure = { error };
          controller?.abort(error);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
