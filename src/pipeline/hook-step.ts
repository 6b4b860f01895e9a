import { join } from 'node:path';
import { HookRunError, runHooks, type HookRunResult, type RunHooksOptions } from '../hooks/index.js';
import type { RunContext } from './context.js';
import { hookEnv, type HookEnvInput } from './hook-env.js';

/**
 * Runs one phase's hooks for a release (cwd = the release, environment from `hookEnv`),
 * reporting their durations — of the hooks that ran, also on failure.
 */
export async function runPhase(ctx: RunContext, input: HookEnvInput, signal?: AbortSignal): Promise<HookRunResult> {
  const options: RunHooksOptions = {
    dirs: hookDirs(ctx, input.phase, input.releaseId),
    phase: input.phase,
    cwd: ctx.store.pathOf(input.releaseId),
    env: hookEnv(ctx, input),
    timeoutMs: ctx.app.hookTimeoutMs,
    outputLimitBytes: ctx.app.hookOutputLimitBytes,
    logger: ctx.logger.child({ version: input.version }),
    ...(signal ? { signal } : {}),
    onHookStart: (hook) => ctx.events.onHookStart?.(ctx.app.name, input.phase, hook),
  };
  try {
    const result = await runHooks(options);
    ctx.events.onHooks?.(ctx.app.name, options.phase, result.ran);
    return result;
  } catch (error) {
    if (error instanceof HookRunError) ctx.events.onHooks?.(ctx.app.name, options.phase, error.ran);
    throw error;
  }
}

/**
 * The hook directories of a phase: the host's, then (with `release-hooks = true`) the
 * release's own `.repo-deploy/<phase>.d`, under the same rules.
 */
function hookDirs(ctx: RunContext, phase: 'pre-update' | 'post-update', releaseId: string): string[] {
  const host = phase === 'pre-update' ? ctx.app.preHooks : ctx.app.postHooks;
  return ctx.app.releaseHooks ? [host, join(ctx.store.pathOf(releaseId), '.repo-deploy', `${phase}.d`)] : [host];
}
