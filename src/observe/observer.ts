import { clearActivity, recordActivity } from '../activity/activity.js';
import type { AppConfig } from '../config/types.js';
import { messageOf } from '../errors.js';
import { appendHistory, readHistory, type HistoryAction, type HistoryEntry } from '../history/index.js';
import type { Logger } from '../log.js';
import { notify, type NotifyEventName } from '../notify/index.js';
import type { PipelineEvents } from '../pipeline/context.js';

/**
 * The one seam of the operator-facing services: history, notifications and the live activity
 * `status` shows. A run (a check, a rollback, a resume) makes one observer; its `events` go to
 * the pipeline, which reports each transition and each hook start; `finish` writes the
 * history line and queues the notification. Failures here are logged, never thrown: they
 * must not change how an update ends.
 */

/** Who runs this and what it is. */
export interface ObservedRun {
  app: AppConfig;
  logger: Logger;
  /** `deploy` for the agent's checks; `repair` is found on the way (a condemned current). */
  action: HistoryAction;
  /** A person ran the command (`retry`, `rollback`, `resume`): `by` is their user name. */
  operator?: string;
}

/**
 * The part of the pipeline's state transitions the observer reads: a structural view, so any
 * transition can be handed to it and only these fields are looked at.
 */
export interface SeenTransition {
  name: string;
  /** `condemned`: the broken release current pointed at. */
  releaseId?: string;
  /** `staged`: the update about to run its hooks. */
  pending?: { version: string; releaseId: string; previous: string | null };
  /** `failed`: the version's back-off record. */
  failing?: { failures: number };
  /** `rolled-back`: the fleet rollback (quarantined version, releases, who reverted it and why). */
  rolledBack?: { version: string; fromRelease: string; toRelease: string; by: string; reason: string };
}

/** The state after a transition, as far as the observer reads it. */
export interface SeenState {
  releases: Record<string, { version: string }>;
}

/** The events an observer listens to; merged into the pipeline's events. */
export type ObserverEvents = Required<Pick<PipelineEvents, 'onTransition' | 'onHookStart' | 'onFetchStart'>>;

/** How a run ended, as the observer needs it. */
export interface RunEnd {
  result: string;
  version?: string;
  releaseId?: string;
  error?: Error;
}

/** Collects the facts of one run from the pipeline's events, then records them. */
export class RunObserver {
  private readonly started = Date.now();
  private action: HistoryAction;
  private from: { version?: string; release?: string } | undefined;
  private to: { version: string; release: string } | undefined;
  /** Failures of the version so far (1 = this is the first): later ones are not notified. */
  private failures: number | undefined;
  /** Why a fleet rollback happened: the history line's message. */
  private rollbackReason: string | undefined;
  /** Activity writes, one after the other: a later step must never be overwritten by an earlier one. */
  private writes: Promise<void> = Promise.resolve();

  constructor(private readonly run: ObservedRun) {
    this.action = run.action;
  }

  /**
   * The observer's events, to merge over the caller's (`{ ...events, ...observer.events(events) }`);
   * the caller's own listeners are still called.
   */
  events(inner: PipelineEvents = {}): ObserverEvents {
    return {
      onTransition: (app, t, state) => {
        inner.onTransition?.(app, t, state);
        this.onTransition(t as SeenTransition, state);
      },
      onHookStart: async (app, phase, hook) => {
        await inner.onHookStart?.(app, phase, hook);
        await this.activity({ step: phase, hook });
      },
      onFetchStart: async (app, version) => {
        await inner.onFetchStart?.(app, version);
        await this.activity({ version, step: 'fetching' });
      },
    };
  }

  private activity(change: Parameters<typeof recordActivity>[1]): Promise<void> {
    this.writes = this.writes.then(() => recordActivity(this.run.app.deployDir, change));
    return this.writes;
  }

  private onTransition(t: SeenTransition, state: SeenState): void {
    if (t.name === 'condemned' && t.releaseId) {
      // A repair: current was the broken release, whatever the update reverts to.
      if (this.action === 'deploy') this.action = 'repair';
      this.from = { release: t.releaseId, ...versionOf(state, t.releaseId) };
    }
    if (t.name === 'staged' && t.pending) {
      const previous = t.pending.previous;
      this.from ??= previous ? { release: previous, ...versionOf(state, previous) } : {};
      this.to = { version: t.pending.version, release: t.pending.releaseId };
      void this.activity({ version: t.pending.version, releaseId: t.pending.releaseId, step: 'pre-update' });
    }
    if (t.name === 'swapped') void this.activity({ step: 'swapping' });
    if (t.name === 'rolled-back' && t.rolledBack) {
      // A fleet rollback: from the quarantined release back to the previous one.
      const back = t.rolledBack;
      this.action = 'rollback';
      this.from = { release: back.fromRelease, version: back.version };
      this.to = { release: back.toRelease, version: state.releases[back.toRelease]?.version ?? 'unknown' };
      this.rollbackReason = `the fleet quarantined ${back.version} (reverted on ${back.by}: ${back.reason})`;
    }
    if (t.name === 'failed' && t.failing) this.failures = t.failing.failures;
  }

  /** Records how the run ended: history line, notification, end of the live activity. */
  async finish(end: RunEnd): Promise<void> {
    await this.writes;
    await clearActivity(this.run.app.deployDir);
    try {
      const entry = this.entryOf(end);
      if (!entry) return;
      const last = (await readHistory(this.run.app.deployDir, 1))[0];
      // A check refused the same way every minute (a quarantined version, etcd unreachable) is
      // one line and one notification; a real attempt again is recorded (its back-off bounds it).
      if (!this.to && this.failures === undefined && last?.result === entry.result && last.toVersion === entry.toVersion) return;
      await appendHistory(this.run.app.deployDir, entry);
      const event = this.eventOf(end);
      if (event) notify(this.run.app, this.run.logger, { event, ...(entry.toVersion ? { version: entry.toVersion } : {}), ...(entry.fromVersion ? { previousVersion: entry.fromVersion } : {}), ...(end.releaseId ? { release: end.releaseId } : {}), ...(entry.message ? { message: entry.message } : {}) });
    } catch (error) {
      this.run.logger.warn({ err: messageOf(error) }, 'could not record the history of this run');
    }
  }

  /** The history line of a run that tried to change something; null for a quiet check. */
  private entryOf(end: RunEnd): HistoryEntry | null {
    const attempted = this.to !== undefined || (this.action === 'resume' && end.result === 'resumed') || (end.version !== undefined && ['failed', 'quarantined', 'blocked', 'reverted'].includes(end.result));
    if (!attempted) return null;
    const toVersion = this.to?.version ?? end.version;
    const toRelease = this.to?.release ?? (end.result === 'deployed' ? end.releaseId : undefined);
    return {
      at: new Date().toISOString(),
      action: this.action,
      result: end.result,
      ...(this.from?.version ? { fromVersion: this.from.version } : {}),
      ...(this.from?.release ? { fromRelease: this.from.release } : {}),
      ...(toVersion ? { toVersion } : {}),
      ...(toRelease ? { toRelease } : {}),
      durationMs: Date.now() - this.started,
      actor: this.run.operator ? 'operator' : 'agent',
      by: this.run.operator ?? this.run.app.id,
      ...(end.error ? { message: end.error.message } : this.rollbackReason ? { message: this.rollbackReason } : {}),
    };
  }

  /** The notification of a run, if one is due: failures once per version. */
  private eventOf(end: RunEnd): NotifyEventName | null {
    if (end.result === 'rolled-back') return 'rolled-back';
    if (end.result === 'deployed') return this.action === 'rollback' ? 'rolled-back' : 'deployed';
    if (!['blocked', 'reverted', 'failed', 'quarantined'].includes(end.result)) return null;
    if (this.failures !== undefined && this.failures > 1) return null;
    return end.result as NotifyEventName;
  }
}

function versionOf(state: SeenState, id: string): { version?: string } {
  const version = state.releases[id]?.version;
  return version ? { version } : {};
}
