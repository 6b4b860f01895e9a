import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AppConfig } from '../config/types.js';
import type { InstalledFilesChange } from '../util/installed-files.js';
import { processAlive } from '../util/process-alive.js';

/**
 * What a daemon leaves beside each app's state when repo-deploy's installed files changed under
 * it (an upgrade the daemon was not restarted for), so that `repo-deploy status`, another process, can say a restart is needed.
 * It names the daemon's pid: a marker whose daemon is gone means nothing.
 */

/** A daemon that runs older code than the installed files. */
export interface RestartNeeded extends InstalledFilesChange {
  pid: number;
}

const markerOf = (app: AppConfig) => join(app.deployDir, '.repo-deploy', 'restart-needed.json');

/** Writes this daemon's marker for each app; returns the errors (the daemon only logs them). */
export function writeRestartMarkers(apps: readonly AppConfig[], change: InstalledFilesChange): string[] {
  const errors: string[] = [];
  const marker: RestartNeeded = { pid: process.pid, ...change };
  for (const app of apps) {
    try {
      mkdirSync(dirname(markerOf(app)), { recursive: true });
      writeFileSync(markerOf(app), `${JSON.stringify(marker)}\n`);
    } catch (error) {
      errors.push(`${markerOf(app)}: ${(error as Error).message}`);
    }
  }
  return errors;
}

/** Removes the apps' markers: left by this daemon, or by one that is gone. */
export function removeRestartMarkers(apps: readonly AppConfig[]): void {
  for (const app of apps) {
    const marker = readMarker(app);
    if (marker && (marker.pid === process.pid || !processAlive(marker.pid))) rmSync(markerOf(app), { force: true });
  }
}

/** The app's marker, if the daemon that wrote it still runs. */
export function readRestartNeeded(app: AppConfig): RestartNeeded | undefined {
  const marker = readMarker(app);
  return marker && processAlive(marker.pid) ? marker : undefined;
}

function readMarker(app: AppConfig): RestartNeeded | undefined {
  try {
    const marker = JSON.parse(readFileSync(markerOf(app), 'utf8')) as RestartNeeded;
    return Number.isInteger(marker.pid) && marker.pid > 0 ? marker : undefined;
  } catch {
    return undefined;
  }
}

