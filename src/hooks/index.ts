/** The hook runner: listing hook directories and running a phase's hooks. */
export type { HookPhase, RunHooksOptions, HookRunResult, HookRun, HookListing } from './types.js';
export { listHooks, skipReasonForName, compareNameBytes } from './list.js';
export { runHooks, HookRunError, outputTailOf, defaultKillGraceMs } from './run.js';
