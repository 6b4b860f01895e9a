import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * How the daemon keeps its V8 heap at what it holds, not at what it once allocated, over months of
 * deploys.
 *
 * The V8 heap is only 12-17 MiB of the daemon's ~70 MiB resident set, but it is the part that
 * grew: measured with `npm run bench -- --only soak`, a daemon went from 68 to 84 MiB RSS over
 * 300 deploys, in steps. Two causes, two settings, both applied by the daemon to itself at
 * start (`bin/repo-deploy` is run by node: it cannot put flags on its own command line, and a
 * re-exec would leave a second node process of ~40 MiB around):
 *
 * - V8 starts the young generation at two 1 MiB semi-spaces and doubles them whenever enough
 *   survives a scavenge, up to 2 x 16 MiB, which an idle daemon rarely gives back.
 *   `--max-semi-space-size` is read only when the heap is made, but the growth factor is read
 *   each time V8 considers growing: 1 keeps the initial size.
 * - The old generation is collected only when it reaches a limit that V8 raises as it goes:
 *   deploys and rounds of checks (50 apps) leave tens of MiB of garbage in it for as long as
 *   the daemon then idles. A full collection once a round has ended gives it back (measured:
 *   50 apps, 88-108 MiB -> about 71 MiB with one every 5 s).
 *
 * Only the daemon does this: a `-f` run exits anyway, and fetch children, which allocate the
 * most, keep V8's defaults and their speed.
 */
export function keepHeapSmall(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  // `gc` is then defined in contexts made from now on; this process's own stays as it was.
  v8.setFlagsFromString('--expose-gc');
  collect = runInNewContext('gc') as (() => void) | undefined;
}

let collect: (() => void) | undefined;
let timer: NodeJS.Timeout | undefined;
let lastAt = 0;

/**
 * Called when the daemon's last running check ended: one full collection a second later if
 * none is running then, at most one every `minIntervalMs` (with a one-second schedule, one
 * every 10 s: ~10 ms of a ~10 MiB heap).
 */
export function collectWhenIdle(isIdle: () => boolean, minIntervalMs = 10_000): void {
  if (!collect || timer) return;
  timer = setTimeout(() => {
    timer = undefined;
    if (!isIdle() || Date.now() - lastAt < minIntervalMs) return;
    lastAt = Date.now();
    collect?.();
  }, 1000);
  // Never what keeps the daemon from exiting.
  timer.unref();
}
