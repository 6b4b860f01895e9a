import { hostname } from 'node:os';
import type { AppConfig } from '../config/types.js';
import { messageOf } from '../errors.js';
import type { FleetStatus } from '../fleet/types.js';
import type { Logger } from '../log.js';
import { openFleet } from '../fleet/coordinator.js';
import { readStatus } from '../status.js';
import { readHistory, type HistoryEntry } from '../history/index.js';
import { renderStatusPage, type AppPageData, type FleetPageData } from './status-page.js';
import { packageVersion } from '../util/package-version.js';

/** Options for `createStatusPage`. */
export interface StatusPageOptions {
  /** The apps at start; `setApps` replaces them after a reload. */
  apps: readonly AppConfig[];
  logger: Logger;
  /**
   * Recent history of one app, newest first; default: the last 20 entries of its history file.
   * A rejection is shown on the page, never fails it.
   */
  recentHistory?: (app: AppConfig) => Promise<readonly HistoryEntry[]>;
  /** Reads a rollout group; default: a short-lived etcd client, as `repo-deploy fleet status`. */
  fleetStatus?: (app: AppConfig, logger: Logger) => Promise<FleetStatus>;
  /** Seconds between the page's reloads; default 10. */
  refreshSeconds?: number;
  /** How long a group may take to answer before the page says so; default 3 s. */
  fleetTimeoutMs?: number;
}

/** The status page of a running agent. */
export interface StatusPage {
  /** After a config reload: the apps to show. */
  setApps(apps: readonly AppConfig[]): void;
  /** The page now, from the apps' state on disk and etcd. */
  render(): Promise<string>;
}

/** Gathers what `GET /` shows on each request: state files are small, and nothing is cached stale. */
export function createStatusPage(options: StatusPageOptions): StatusPage {
  let apps = [...options.apps];
  const version = packageVersion();
  const log = options.logger.child({ component: 'status-page' });
  return {
    setApps(next) {
      apps = [...next];
    },
    async render() {
      const shown = apps;
      const [statuses, fleets] = await Promise.all([readStatus(shown), readFleets(shown, options, log)]);
      const appData = await Promise.all(shown.map((app, i) => appPageData(app, statuses[i]!, options)));
      return renderStatusPage({
        agentId: shown[0]?.id ?? hostname(),
        version,
        now: new Date(),
        refreshSeconds: options.refreshSeconds ?? 10,
        apps: appData,
        fleets,
      });
    },
  };
}

async function appPageData(app: AppConfig, status: AppPageData['status'], options: StatusPageOptions): Promise<AppPageData> {
  const recent = options.recentHistory ?? ((a: AppConfig) => readHistory(a.deployDir, 20));
  const history = await recent(app).catch((error: unknown) => new Error(messageOf(error)));
  return { status, schedule: app.schedule, history };
}

/** One entry per rollout group (apps sharing endpoints and group are read once). */
async function readFleets(apps: readonly AppConfig[], options: StatusPageOptions, log: Logger): Promise<FleetPageData[]> {
  const groups = new Map<string, { app: AppConfig; apps: string[] }>();
  for (const app of apps) {
    if (!app.rollout) continue;
    const key = `${app.rollout.endpoints.join(',')} ${app.rollout.group}`;
    const group = groups.get(key);
    if (group) group.apps.push(app.name);
    else groups.set(key, { app, apps: [app.name] });
  }
  const read = options.fleetStatus ?? readGroup;
  const timeoutMs = options.fleetTimeoutMs ?? 3_000;
  return Promise.all(
    [...groups.values()].map(async ({ app, apps: names }): Promise<FleetPageData> => {
      const base = { group: app.rollout!.group, apps: names, maxParallel: app.rollout!.maxParallel };
      try {
        const status = await withTimeout(read(app, log), timeoutMs, `etcd did not answer within ${timeoutMs / 1000} s`);
        return { ...base, status: status as FleetStatus & Record<string, unknown> };
      } catch (error) {
        log.debug({ group: base.group, err: messageOf(error) }, 'status page could not read the rollout group');
        return { ...base, error: messageOf(error) };
      }
    }),
  );
}

/** A client of its own that only reads: no lease, no agent record, closed at once. */
async function readGroup(app: AppConfig, log: Logger): Promise<FleetStatus> {
  const fleet = await openFleet(app, log);
  if (!fleet) throw new Error(`app ${app.name} has no etcd configured`);
  try {
    return await fleet.status();
  } finally {
    void fleet.close().catch(() => {});
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
