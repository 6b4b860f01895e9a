import type { RunContext } from './context.js';

/** Facts about one hook phase, turned into the hooks' environment. */
export interface HookEnvInput {
  phase: 'pre-update' | 'post-update';
  /** Release the hooks are for (the new one; the restored one during a revert). */
  releaseId: string;
  version: string;
  /** Release that was current before, or null on a first deploy. */
  previousId: string | null;
  /** True when post-update hooks run again for a restored release after a revert. */
  revert?: boolean;
}

/**
 * The environment of a hook: the original's `CURRENT_CONFIG` / `PREVIOUS_CONFIG`
 * plus `REPO_DEPLOY_*` facts. Names avoid the `REPO_DEPLOY_<config key>` form so a hook that
 * runs repo-deploy itself does not feed these back in as configuration.
 */
export function hookEnv(ctx: RunContext, input: HookEnvInput): Record<string, string> {
  const previousVersion = input.previousId ? (ctx.state.releases[input.previousId]?.version ?? '') : '';
  return {
    CURRENT_CONFIG: ctx.store.pathOf(input.releaseId),
    PREVIOUS_CONFIG: input.previousId ? ctx.store.pathOf(input.previousId) : '',
    REPO_DEPLOY_PHASE: input.phase,
    REPO_DEPLOY_APP: ctx.app.name,
    REPO_DEPLOY_AGENT_ID: ctx.app.id,
    REPO_DEPLOY_VERSION: input.version,
    REPO_DEPLOY_PREVIOUS_VERSION: previousVersion,
    REPO_DEPLOY_RELEASE: input.releaseId,
    REPO_DEPLOY_PREVIOUS_RELEASE: input.previousId ?? '',
    REPO_DEPLOY_LINK: ctx.app.local,
    REPO_DEPLOY_REMOTE_URL: ctx.remote.display,
    REPO_DEPLOY_REVERT: input.revert ? '1' : '0',
  };
}
