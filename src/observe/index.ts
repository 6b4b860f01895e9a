import type { AppConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { RunObserver } from './observer.js';

export { RunObserver, type ObservedRun, type ObserverEvents, type RunEnd, type SeenState, type SeenTransition } from './observer.js';

/** The observer of one check: the agent's (`deploy`), or an operator's `retry`. */
export function observeCheck(options: { app: AppConfig; logger: Logger; retry?: boolean; operator?: string }): RunObserver {
  return new RunObserver({
    app: options.app,
    logger: options.logger.child({ app: options.app.name }),
    action: options.retry ? 'retry' : 'deploy',
    ...(options.operator ? { operator: options.operator } : {}),
  });
}
