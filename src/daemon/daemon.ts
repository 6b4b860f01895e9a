import cron, { type ScheduledTask } from 'node-cron';
import type { LoadedConfig } from '../config/load.js';
import type { AppConfig } from '../config/types.js';
import { LockBusyError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { checkOnce, type CheckOutcome } from '../pipeline/check.js';
import type { PipelineEvents } from '../pipeline/context.js';
import { installedFilesChanged, watchInstalledFiles } from '../util/installed-files.js';
import { Coordinators } from './coordinators.js';
import { collectWhenIdle, keepHeapSmall } from './heap.js';
import { removeRestartMarkers, writeRestartMarkers } from './restart-marker.js';

/** Options for `startDaemon`. */
export interface DaemonOptions {
  /** Loads (and reloads, on `reload()`) the configuration; throws `ConfigError` when invalid. */
  loadConfig: () => LoadedConfig;
  logger: Logger;
  /** Aborting it stops the daemon: no new checks, updates in progress end at a safe point. */
  signal: AbortSignal;
  /** Called after every check, e.g. for metrics. */
  onOutcome?: (outcome: CheckOutcome) => void;
  /** Measurements from inside each check (hook and download durations). */
  events?: PipelineEvents;
}

/** A running daemon. */
export interface Daemon {
  /** Re-reads the configuration; an invalid one is reported and the old one kept. */
  reload(): void;
  /** Checks every app now (or one app), skipping apps whose check is running. */
  checkNow(app?: string): void;
  /** Resolves when the daemon has stopped (after the signal, once running checks ended). */
  done: Promise<void>;
}

/**
 * Runs every app on its own schedule: a check at start, then one per cron tick,
 * never two checks of one app at once, one app's failure or hung hook never delaying another.
 */
export function startDaemon(options: DaemonOptions): Daemon {
  const { logger, signal } = options;
  keepHeapSmall();
  quietCron(logger);
  const running = new Map<string, Promise<void>>();
  const coordinators = new Coordinators(logger);
  const closeFleets = () => coordinators.closeAll(Promise.allSettled([...running.values()]));
  let tasks: ScheduledTask[] = [];
  let apps: AppConfig[] = [];
  watchUpgrade(logger, () => apps);

  const runApp = (app: AppConfig, reason: string): void => {
    if (signal.aborted) return;
    if (running.has(app.name)) {
      logger.info({ app: app.name, reason }, 'previous check still running, skipping this one');
      return;
    }
    installedFilesChanged({ maxAgeMs: 5_000 });
    const run = checkApp(app, reason, options, coordinators).finally(() => {
      running.delete(app.name);
      if (running.size === 0) collectWhenIdle(() => running.size === 0);
    });
    running.set(app.name, run);
  };

  const schedule = (config: LoadedConfig): void => {
    for (const task of tasks) void task.destroy();
    apps = config.apps;
    markRestartNeeded(apps);
    tasks = apps.map((app) => cron.schedule(app.schedule, () => runApp(app, 'schedule'), { name: `repo-deploy:${app.name}` }));
    for (const warning of config.warnings) logger.warn(warning);
    logger.info({ apps: apps.map((a) => ({ app: a.name, schedule: a.schedule })) }, 'daemon scheduled');
    for (const app of apps) runApp(app, 'start');
  };

  schedule(options.loadConfig());
  const done = stopped(signal, async () => {
    for (const task of tasks) void task.destroy();
    logger.info({ running: [...running.keys()] }, 'stopping, waiting for checks in progress to reach a safe point');
    await Promise.allSettled([...running.values()]);
    await closeFleets();
    removeRestartMarkers(apps);
    logger.info('stopped');
  });

  return {
    reload() {
      const config = reloadConfig(options);
      if (!config) return;
      // Fleet settings may have changed; checks in progress keep the connection they hold.
      void closeFleets();
      schedule(config);
    },
    checkNow(name?: string) {
      for (const app of apps) if (!name || app.name === name) runApp(app, 'request');
    },
    done,
  };
}

/** One check of one app by the daemon; never throws (the daemon must never stop). */
async function checkApp(app: AppConfig, reason: string, options: DaemonOptions, coordinators: Coordinators): Promise<void> {
  const { logger, signal } = options;
  if (app.splayMs > 0 && reason === 'schedule') {
    const delayMs = Math.floor(Math.random() * app.splayMs);
    logger.debug({ app: app.name, delayMs }, 'scheduled check delayed by the splay');
    await sleep(delayMs, signal);
    if (signal.aborted) return;
  }
  try {
    const coordinator = await coordinators.of(app);
    // Downloads and extraction run in child processes: the daemon lives for months and
    // must give back what a deploy costs (its idle memory would otherwise stay at the peak).
    const outcome = await checkOnce({ app, logger, signal, isolate: true, ...(options.events ? { events: options.events } : {}), ...(coordinator ? { coordinator } : {}) });
    options.onOutcome?.(outcome);
  } catch (error) {
    // Remote and hook errors are outcomes; what lands here (busy lock, a bug) must still
    // never stop the daemon.
    const level = error instanceof LockBusyError ? 'info' : 'error';
    logger[level]({ app: app.name, err: messageOf(error) }, 'check did not run');
  }
}

/** The configuration read again, or undefined (logged) when it is invalid: the old one stays. */
function reloadConfig(options: DaemonOptions): LoadedConfig | undefined {
  try {
    const config = options.loadConfig();
    options.logger.info('configuration reloaded');
    return config;
  } catch (error) {
    options.logger.error({ err: messageOf(error) }, 'configuration not reloaded, keeping the old one');
    return undefined;
  }
}

/**
 * An upgrade without a restart (the daemon keeps running the old code): said once in the log,
 * and beside each app's state for `status`, for as long as this daemon runs.
 */
function watchUpgrade(logger: Logger, apps: () => AppConfig[]): void {
  watchInstalledFiles((change) => {
    logger.warn({ changed: change.files }, 'installed files of repo-deploy changed since the daemon started (an upgrade?): restart the daemon to run the new version; until then it fetches in its own process');
    for (const error of writeRestartMarkers(apps(), change)) logger.warn({ err: error }, 'could not record for status that a restart is needed');
  });
}

/** Beside each (re)scheduled app's state: whether this daemon needs a restart. */
function markRestartNeeded(apps: AppConfig[]): void {
  const change = installedFilesChanged();
  if (change) writeRestartMarkers(apps, change);
  else removeRestartMarkers(apps);
}

/** node-cron's own warnings go to our log, not to the console. */
function quietCron(logger: Logger): void {
  cron.setLogger({
    info: (m: string) => logger.debug({ source: 'node-cron' }, String(m)),
    warn: (m: string) => logger.warn({ source: 'node-cron' }, String(m)),
    error: (m: string | Error) => logger.error({ source: 'node-cron' }, String(m)),
    debug: () => undefined,
  } as never);
}

/** Runs `stop` once `signal` aborts (at once if it has); resolves when it finished. */
function stopped(signal: AbortSignal, stop: () => Promise<void>): Promise<void> {
  if (signal.aborted) return stop();
  return new Promise<void>((resolve) => signal.addEventListener('abort', () => void stop().then(resolve), { once: true }));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
