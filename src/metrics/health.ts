import cron from 'node-cron';
import type { CheckOutcome } from '../pipeline/check.js';
import type { CheckResult } from '../pipeline/state.js';

/** An app is overdue when no check has ended for this many schedule intervals. */
export const overdueFactor = 3;

/**
 * Results after which an app is healthy: it runs what it should (the remote's version, or the
 * release a rollback holds), or the agent stopped at a safe point. A blocked, reverted or
 * backed-off update is not: the host does not run what the remote holds. `satisfies` makes
 * the build fail when a result is added without deciding.
 */
const healthyResults = {
  'up-to-date': true, deployed: true, held: true, stopped: true,
  blocked: false, reverted: false, failed: false, 'backing-off': false,
  // A quarantined version or a busy rollout leaves the host on its (good) current release.
  quarantined: true, busy: true,
} satisfies Record<CheckResult, boolean>;

/** What `/healthz` needs to know about one app. */
export interface AppHealthInput {
  app: string;
  /** Longest expected time between two checks, in ms (`scheduleIntervalMs(app.schedule)`). */
  intervalMs: number;
  /** When the agent started watching the app: before its first check, overdue counts from here. */
  since: Date;
  /** When the last check ended. */
  lastCheckAt?: Date;
  /** How it ended. */
  lastResult?: CheckResult;
  /** Why it failed, when it did. */
  lastError?: string;
}

/** One app's health, as `/healthz` reports it. */
export interface AppHealth {
  app: string;
  /** `pending`: no check yet, none overdue either. */
  status: 'ok' | 'pending' | 'failing' | 'overdue';
  lastCheckAt?: string;
  result?: CheckResult;
  /** Why the app is failing or overdue. */
  reason?: string;
}

/** The agent's health: unhealthy as soon as one app fails or is overdue. */
export interface HealthReport {
  status: 'ok' | 'unhealthy';
  /** The reasons of the unhealthy apps, joined; absent when healthy. */
  reason?: string;
  apps: AppHealth[];
}

/**
 * Judges each app: failing when its last check did not end up to date or
 * deployed (a blocked, reverted or backed-off update counts: the host is not running what the
 * remote holds), overdue when no check ended for `overdueFactor` intervals (a hung hook, a
 * stuck remote, a stopped scheduler). Pure: the clock is passed in.
 */
export function assessHealth(inputs: readonly AppHealthInput[], now: Date = new Date()): HealthReport {
  const apps = inputs.map((input): AppHealth => {
    const base = {
      app: input.app,
      ...(input.lastCheckAt ? { lastCheckAt: input.lastCheckAt.toISOString() } : {}),
      ...(input.lastResult ? { result: input.lastResult } : {}),
    };
    const from = input.lastCheckAt ?? input.since;
    const silentMs = now.getTime() - from.getTime();
    if (silentMs > overdueFactor * input.intervalMs) {
      const what = input.lastCheckAt ? `last check ended ${from.toISOString()}` : `no check since start at ${from.toISOString()}`;
      return { ...base, status: 'overdue', reason: `app ${input.app}: overdue, ${what}, expected every ${Math.round(input.intervalMs / 1000)}s` };
    }
    if (input.lastResult && !healthyResults[input.lastResult]) {
      const why = input.lastError ? `: ${input.lastError}` : '';
      return { ...base, status: 'failing', reason: `app ${input.app}: last check ${input.lastResult}${why}` };
    }
    return { ...base, status: input.lastResult ? 'ok' : 'pending' };
  });
  const reasons = apps.flatMap((a) => (a.reason ? [a.reason] : []));
  return reasons.length ? { status: 'unhealthy', reason: reasons.join('; '), apps } : { status: 'ok', apps };
}

/**
 * The longest gap between consecutive runs of a cron schedule over its next 1,000 runs, in ms:
 * `0 9 * * 1-5` gives three days (Friday to Monday), not one. A schedule whose long gaps are
 * further apart than that (every second, or every minute on weekdays only) gets the gap seen
 * within its next 1,000 runs.
 */
export function scheduleIntervalMs(schedule: string): number {
  const task = cron.createTask(schedule, () => undefined, { name: 'repo-deploy:interval' });
  try {
    const runs = task.getNextRuns(1000).map((d) => d.getTime());
    let longest = 0;
    for (let i = 1; i < runs.length; i++) longest = Math.max(longest, runs[i]! - runs[i - 1]!);
    return longest || 60_000;
  } finally {
    void task.destroy();
  }
}

/** One app the tracker watches. */
export interface TrackedApp {
  name: string;
  /** Cron expression. */
  schedule: string;
}

/**
 * Keeps the last outcome of each app for `/healthz`: the daemon feeds it every outcome and
 * hands `report` to the metrics server as its `health` function.
 */
export class HealthTracker {
  private readonly apps = new Map<string, { intervalMs: number; since: Date; last?: CheckOutcome; lastAt?: Date }>();

  /** @param now clock (tests pass their own). */
  constructor(apps: readonly TrackedApp[], private readonly now: () => Date = () => new Date()) {
    this.setApps(apps);
  }

  /** After a config reload: new apps start their overdue clock now, removed ones go. */
  setApps(apps: readonly TrackedApp[]): void {
    const previous = new Map(this.apps);
    this.apps.clear();
    for (const app of apps) {
      const known = previous.get(app.name);
      this.apps.set(app.name, { ...known, since: known?.since ?? this.now(), intervalMs: scheduleIntervalMs(app.schedule) });
    }
  }

  /** Records how a check ended. */
  record(outcome: CheckOutcome): void {
    const entry = this.apps.get(outcome.app);
    if (entry) Object.assign(entry, { last: outcome, lastAt: this.now() });
  }

  /** The health of every watched app, now. */
  report(): HealthReport {
    return assessHealth(
      [...this.apps].map(([app, e]) => ({
        app,
        intervalMs: e.intervalMs,
        since: e.since,
        ...(e.lastAt ? { lastCheckAt: e.lastAt } : {}),
        ...(e.last ? { lastResult: e.last.result } : {}),
        ...(e.last?.error ? { lastError: e.last.error.message } : {}),
      })),
      this.now(),
    );
  }
}
