import { join } from 'node:path';
import { HookRunError, runHooks, type HookRunResult } from '../hooks/index.js';
import type { RunContext } from './context.js';
import { hookEnv } from './hook-env.js';

/**
 * Validation hooks (`validate-hooks`, default `validate.d` next to the other hook
 * directories): a third phase that runs after the post-update hooks pass and again at every
 * `validate-interval` while a release bakes. Same rules as the other phases (executables only,
 * byte order, a forgotten `chmod +x` warned) and the same environment, with
 * `REPO_DEPLOY_PHASE=validate`. A non-zero exit means the release is bad now: the caller
 * reverts it exactly as a failing post-update hook does.
 */

/** The release a validation looks at. */
export interface ValidationTarget {
  /** The release being validated (current). */
  releaseId: string;
  version: string;
  /** The release it replaced, or null on a first deploy. */
  previousId: string | null;
}

/**
 * Runs the validation hooks once, cwd = the release. Resolves with what ran (nothing when the
 * directory does not exist); rejects with the runner's `HookRunError` on the first failure.
 */
export async function validateRelease(ctx: RunContext, target: ValidationTarget): Promise<HookRunResult> {
  const input = { phase: 'validate' as const, ...target };
  const result = await runHooks({
    dirs: validateDirs(ctx, target.releaseId),
    phase: 'validate',
    cwd: ctx.store.pathOf(target.releaseId),
    env: hookEnv(ctx, input),
    timeoutMs: ctx.app.hookTimeoutMs,
    outputLimitBytes: ctx.app.hookOutputLimitBytes,
    logger: ctx.logger.child({ version: target.version }),
  }).catch((error: unknown) => {
    if (error instanceof HookRunError) ctx.events.onHooks?.(ctx.app.name, 'validate', error.ran);
    throw error;
  });
  ctx.events.onHooks?.(ctx.app.name, 'validate', result.ran);
  return result;
}

/** The host's validation directory, then (with `release-hooks`) the release's own. */
function validateDirs(ctx: RunContext, releaseId: string): string[] {
  const host = ctx.app.validateHooks;
  return ctx.app.releaseHooks ? [host, join(ctx.store.pathOf(releaseId), '.repo-deploy', 'validate.d')] : [host];
}
