import type { AppConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { buildBody, type NotifyFacts } from './event.js';
import { Notifier } from './sender.js';

export { buildBody, signBody, signatureHeader, type NotifyBody, type NotifyEventName, type NotifyFacts } from './event.js';
export { Notifier, type NotifierOptions } from './sender.js';

/**
 * One notifier per set of receivers for the life of the process, so the daemon's retries
 * outlive the check that queued them and a one-shot run can wait for all of them at exit.
 */
const notifiers = new Map<string, Notifier>();

/** How long a one-shot run (`-f`, `rollback`) waits at exit for notifications to go out. */
export const exitDrainMs = 5_000;

/**
 * Queues a notification of `facts` to the app's `notify` receivers (nothing when none is
 * set). Returns at once: delivery happens in the background and never fails the caller.
 */
export function notify(app: AppConfig, logger: Logger, facts: Omit<NotifyFacts, 'app' | 'agent' | 'time'> & { time?: Date }): void {
  if (!app.notify?.length) return;
  const key = JSON.stringify([app.notify, app.notifySecret ?? '']);
  let notifier = notifiers.get(key);
  if (!notifier) {
    notifier = new Notifier({ urls: app.notify, ...(app.notifySecret ? { secret: app.notifySecret } : {}), logger });
    notifiers.set(key, notifier);
  }
  notifier.send(buildBody({ ...facts, app: app.name, agent: app.id, time: facts.time ?? new Date() }));
}

/** Waits, at most `maxMs` in all, for every queued notification of this process. */
export async function drainNotifications(maxMs = exitDrainMs): Promise<void> {
  const deadline = Date.now() + maxMs;
  for (const notifier of notifiers.values()) await notifier.drain(Math.max(0, deadline - Date.now()));
}
