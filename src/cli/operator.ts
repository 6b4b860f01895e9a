import type { AppConfig } from '../config/types.js';
import { UpdateFailedError } from '../errors.js';
import { operatorName } from '../history/index.js';
import type { Logger } from '../log.js';
import { drainNotifications } from '../notify/index.js';
import { RunObserver } from '../observe/index.js';
import { resume, rollback } from '../pipeline/rollback.js';

/**
 * The operator commands that change an app (`rollback`, `resume`), observed like the agent's
 * checks: a history line naming the user who ran them, a `rolled-back` notification, `status`
 * while the rollback's hooks run. A one-shot command waits (bounded) for its notifications.
 */

/** `rollback`: what `rollback` returns, or the error it threw. */
export async function observedRollback(app: AppConfig, logger: Logger, to: string | undefined, env: Record<string, string | undefined>): Promise<Awaited<ReturnType<typeof rollback>> | Error> {
  const observer = new RunObserver({ app, logger: logger.child({ app: app.name }), action: 'rollback', operator: operatorName(env) });
  const result = await rollback({ app, logger, events: observer.events(), ...(to ? { to } : {}) }).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  if (result instanceof Error) await observer.finish({ result: result instanceof UpdateFailedError ? result.reason : 'failed', error: result });
  else await observer.finish({ result: result.result, ...('releaseId' in result ? { releaseId: result.releaseId } : {}) });
  await drainNotifications();
  return result;
}

/** `resume`: true when a hold was lifted. */
export async function observedResume(app: AppConfig, logger: Logger, env: Record<string, string | undefined>): Promise<boolean> {
  const observer = new RunObserver({ app, logger: logger.child({ app: app.name }), action: 'resume', operator: operatorName(env) });
  const held = await resume({ app, logger });
  await observer.finish({ result: held ? 'resumed' : 'not held' });
  return held;
}
