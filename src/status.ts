import type { AppConfig } from './config/types.js';
import { readRestartNeeded, type RestartNeeded } from './daemon/restart-marker.js';
import { createRemote } from './remotes/index.js';
import { ReleaseStore } from './release/store.js';
import { readState, statePath, type CheckRecord, type FailingRecord } from './pipeline/state.js';
import { reconcile } from './pipeline/releases-on-disk.js';
import { readActivity, type Activity } from './activity/activity.js';

/** A release as `status` and `releases` show it. */
export interface ReleaseInfo {
  id: string;
  version: string;
  status: 'good' | 'failed' | 'unknown';
  createdAt?: string;
  path: string;
  detail?: Record<string, string>;
}

/** What `repo-deploy status` shows for one app (DESIGN §9). No secrets. */
export interface AppStatus {
  app: string;
  remote: string;
  link: string;
  /** What `current` is: a release, missing, a real directory, or a link set by hand. */
  linkState: 'release' | 'missing' | 'directory' | 'foreign';
  current?: ReleaseInfo;
  previous?: ReleaseInfo;
  /** A newer remote version with the same content as current. */
  seenVersion?: string;
  lastCheck?: CheckRecord;
  lastSuccessAt?: string;
  failing?: FailingRecord;
  /** Set by a rollback: the release held and the remote versions not redeployed until `resume`. */
  hold?: { releaseId: string; fromVersions: string[]; at: string };
  /** An update a crash interrupted (settled by the next run). */
  interrupted?: { releaseId: string; version: string; phase: string };
  lastHookOutput: string[];
  releases: ReleaseInfo[];
  /** An update running now: version, step, hook (see `Activity`). */
  updating?: Activity;
  /** The daemon running this app started before repo-deploy's files were replaced: restart it. */
  restartNeeded?: RestartNeeded;
}

/** Reads the status of each app from its state and link; changes nothing. */
export async function readStatus(apps: readonly AppConfig[]): Promise<AppStatus[]> {
  return Promise.all(apps.map(readAppStatus));
}

async function readAppStatus(app: AppConfig): Promise<AppStatus> {
  const store = new ReleaseStore({ link: app.local, deployDir: app.deployDir });
  const state = await readState(statePath(app.deployDir));
  // What is on disk wins: releases deleted by hand are not shown, a lost state is rebuilt from
  // the releases' own records (in memory only: status changes nothing).
  await reconcile(store, state);
  const link = await store.current();
  const info = (id: string): ReleaseInfo => {
    const r = state.releases[id];
    return {
      id,
      version: r?.version ?? 'unknown',
      status: r?.status ?? 'unknown',
      path: store.pathOf(id),
      ...(r?.createdAt ? { createdAt: r.createdAt } : {}),
      ...(r?.detail ? { detail: r.detail } : {}),
    };
  };
  const currentId = link.kind === 'release' ? link.id : undefined;
  const previousId = state.previous && state.previous !== currentId ? state.previous : undefined;
  const restartNeeded = readRestartNeeded(app);
  const updating = await readActivity(app.deployDir);
  return {
    app: app.name,
    remote: createRemote(app.remote, app).display,
    link: app.local,
    linkState: link.kind,
    ...(currentId ? { current: info(currentId) } : {}),
    ...(previousId ? { previous: info(previousId) } : {}),
    ...(state.seen && state.seen.releaseId === currentId ? { seenVersion: state.seen.version } : {}),
    ...(state.lastCheck ? { lastCheck: state.lastCheck } : {}),
    ...(state.lastSuccessAt ? { lastSuccessAt: state.lastSuccessAt } : {}),
    ...(state.failing ? { failing: state.failing } : {}),
    ...(state.hold ? { hold: state.hold } : {}),
    ...(updating ? { updating } : {}),
    ...(state.inProgress && !updating ? { interrupted: { releaseId: state.inProgress.releaseId, version: state.inProgress.version, phase: state.inProgress.phase } } : {}),
    lastHookOutput: state.lastHookOutput ?? [],
    releases: (await store.list()).map(info).sort((a, b) => timeOf(a).localeCompare(timeOf(b))),
    ...(restartNeeded ? { restartNeeded } : {}),
  };
}

/**
 * When a release was made, for listing oldest first: ids sort by the second only, and two
 * releases of one second would otherwise sort by their version suffix.
 */
function timeOf(r: ReleaseInfo): string {
  if (r.createdAt) return r.createdAt;
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(r.id);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z` : '';
}
