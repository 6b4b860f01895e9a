import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writePrivateFileAtomic } from '../util/atomic-write.js';
import { makePrivateDir } from '../util/modes.js';
import { processAlive } from '../util/process-alive.js';

/**
 * What an update is doing right now, for `status` while it happens: the version being
 * deployed, the step and the hook running. Kept in its own small file
 * (`<deploy dir>/.repo-deploy/activity.json`), not in the state: it changes at every hook,
 * is meaningless after the process ends (its pid tells), and a lost write costs nothing.
 */

/** A step of an update, in the order they happen. */
export type ActivityStep = 'fetching' | 'pre-update' | 'swapping' | 'post-update' | 'reverting';

/** The activity record. */
export interface Activity {
  /** The process doing it: a record whose process is gone is ignored. */
  pid: number;
  /** The version being deployed (or rolled back to). */
  version: string;
  /** The release it goes into, once known. */
  releaseId?: string;
  step: ActivityStep;
  /** The hook running now, during a hook phase. */
  hook?: string;
  /** ISO time the update started, and the time the current step or hook started. */
  startedAt: string;
  stepAt: string;
}

/** Path of the activity record of a deploy directory. */
export function activityPath(deployDir: string): string {
  return join(deployDir, '.repo-deploy', 'activity.json');
}

/**
 * Records what this process is doing for the app; `change` is merged over the current record
 * (a new `version` starts a new one). Best effort: a failure is swallowed, since status
 * detail must never fail an update.
 */
export async function recordActivity(deployDir: string, change: Partial<Omit<Activity, 'pid' | 'startedAt' | 'stepAt'>> & { step: ActivityStep }): Promise<void> {
  try {
    const now = new Date().toISOString();
    const old = await readOwn(deployDir);
    const base = old && (!change.version || old.version === change.version) ? old : undefined;
    const next: Activity = {
      pid: process.pid,
      version: change.version ?? base?.version ?? 'unknown',
      startedAt: base?.startedAt ?? now,
      ...(base?.releaseId ? { releaseId: base.releaseId } : {}),
      ...(change.releaseId ? { releaseId: change.releaseId } : {}),
      step: change.step,
      ...(change.hook ? { hook: change.hook } : {}),
      stepAt: now,
    };
    await makePrivateDir(join(deployDir, '.repo-deploy'), { readableParents: true });
    await writePrivateFileAtomic(activityPath(deployDir), `${JSON.stringify(next)}\n`);
  } catch {
    // See above: best effort.
  }
}

/** Removes the record at the end of an update (whatever its end). */
export async function clearActivity(deployDir: string): Promise<void> {
  await rm(activityPath(deployDir), { force: true }).catch(() => undefined);
}

/** The activity of a live process for the app, or undefined when nothing is happening. */
export async function readActivity(deployDir: string): Promise<Activity | undefined> {
  try {
    const record = JSON.parse(await readFile(activityPath(deployDir), 'utf8')) as Activity;
    return typeof record.pid === 'number' && typeof record.step === 'string' && processAlive(record.pid) ? record : undefined;
  } catch {
    return undefined;
  }
}

async function readOwn(deployDir: string): Promise<Activity | undefined> {
  const record = await readActivity(deployDir);
  return record?.pid === process.pid ? record : undefined;
}
