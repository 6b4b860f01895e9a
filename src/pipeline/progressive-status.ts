import type { AppConfig } from '../config/types.js';
import { isWindowOpen, nextOpening } from '../schedule/deploy-window.js';
import type { RunContext } from './context.js';
import type { UpdatePlan } from './plan.js';
import type { AppState, RolledBackRecord } from './state.js';
import type { Carried } from './update.js';

/**
 * What `status` shows of progressive delivery: a release baking, a return from a version the
 * fleet quarantined, and the deploy window. Read from the state and the config; changes nothing.
 * Also the deploy-window step of a check (`outsideWindow`), which reads the same window.
 */

/** A release between its post-update hooks and its confirmation. */
export interface BakingStatus {
  releaseId: string;
  version: string;
  /** ISO time the bake ends and the release is confirmed. */
  until: string;
  /** ISO time of the last validation that passed. */
  validatedAt?: string;
}

/** The deploy window now. */
export interface WindowStatus {
  /** The configured window, as written. */
  window: string;
  open: boolean;
  /** ISO time it opens next, while closed (absent when it never opens). */
  nextOpening?: string;
}

/** The progressive-delivery fields of one app's status. */
export interface ProgressiveStatus {
  baking?: BakingStatus;
  rolledBack?: RolledBackRecord;
  deployWindow?: WindowStatus;
}

/** Reads the fields from the state and config at `now`. */
export function progressiveStatus(app: AppConfig, state: AppState, now: Date): ProgressiveStatus {
  const pending = state.inProgress;
  const baking: BakingStatus | undefined =
    pending?.phase === 'baking' && pending.bakeUntil
      ? { releaseId: pending.releaseId, version: pending.version, until: pending.bakeUntil, ...(pending.validatedAt ? { validatedAt: pending.validatedAt } : {}) }
      : undefined;
  return {
    ...(baking ? { baking } : {}),
    ...(state.rolledBack ? { rolledBack: state.rolledBack } : {}),
    ...(app.deployWindow ? { deployWindow: windowStatus(app, now) } : {}),
  };
}

/** Whether the app's deploy window is open at `now`, and when it opens next if not. */
export function windowStatus(app: AppConfig, now: Date): WindowStatus {
  const window = app.deployWindow!;
  if (isWindowOpen(window, now)) return { window: window.text, open: true };
  const next = nextOpening(window, now);
  return { window: window.text, open: false, ...(next ? { nextOpening: next.toISOString() } : {}) };
}

/**
 * The deploy-window step of a check, after planning: the outcome `outside-window` when the plan
 * would start a new version (not a repair of a broken `current`) while the window is closed.
 */
export function outsideWindow(ctx: RunContext, plan: UpdatePlan): Carried | null {
  if (!ctx.app.deployWindow) return null;
  // A repair (`current` broken: condemned, or redeployed) is never held back.
  const repair = plan.condemn !== null || (plan.action === 'deploy' && plan.repair);
  const starts = !repair && (plan.action === 'reuse' || plan.action === 'would-deploy' || plan.action === 'deploy');
  if (!starts) return null;
  const window = windowStatus(ctx.app, ctx.now());
  if (window.open) return null;
  ctx.logger.info({ version: plan.version, window: window.window, nextOpening: window.nextOpening }, 'new version due, but the deploy window is closed: not starting it');
  const where = plan.previous ? { releaseId: plan.previous } : {};
  return { outcome: { result: 'outside-window', version: plan.version, ...where, ...(window.nextOpening ? { nextTryAt: window.nextOpening } : {}) }, transitions: [] };
}

/** The lines `status` prints for these fields, as [label, text] rows. */
export function progressiveRows(s: ProgressiveStatus): [string, string][] {
  const rows: [string, string][] = [];
  if (s.baking) {
    const last = s.baking.validatedAt ? `, last validated ${s.baking.validatedAt}` : '';
    rows.push(['baking', `${s.baking.releaseId} (version ${s.baking.version}) until ${s.baking.until}${last}; confirmed when the bake ends`]);
  }
  if (s.rolledBack) {
    const r = s.rolledBack;
    rows.push(['rolled back', `from ${r.fromRelease} (version ${r.version}) to ${r.toRelease} at ${r.at}: the fleet quarantined the version (reverted on ${r.by}: ${r.reason})`]);
  }
  if (s.deployWindow) {
    const w = s.deployWindow;
    rows.push(['deploy window', w.open ? `${w.window} (open)` : `${w.window} (closed; opens ${w.nextOpening ?? 'never'})`]);
  }
  return rows;
}
