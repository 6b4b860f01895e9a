import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { AppConfig } from '../config/types.js';
import { noCoordinator, type Coordinator } from '../fleet/coordinator.js';
import type { Logger } from '../log.js';
import { openRemote } from '../remotes/index.js';
import { withFetchInChild } from '../remotes/isolated.js';
import type { Remote, RemoteContext } from '../remotes/types.js';
import { ReleaseStore } from '../release/store.js';
import type { ReleaseSource } from '../release/release-meta.js';
import { checkLayout } from './layout.js';
import { sourceOf } from './source.js';
import { readState, statePath, writeState, type AppState } from './state.js';
import type { Transition } from './transitions.js';

/** Everything one run of the pipeline for one app works with. */
export interface RunContext {
  app: AppConfig;
  logger: Logger;
  store: ReleaseStore;
  remote: Remote;
  remoteCtx: RemoteContext;
  /** What this app's releases are built from, and its canonical key (see `sourceOf`). */
  source: ReleaseSource;
  sourceKey: string;
  /** The state as read at the start of the run; changed in place, then saved. */
  state: AppState;
  statePath: string;
  signal?: AbortSignal;
  now: () => Date;
  events: PipelineEvents;
  /** Fleet coordination; `noCoordinator` for apps without etcd. */
  coordinator: Coordinator;
  /** Saves `state` atomically (only `apply` in transitions.ts calls it). */
  save(): Promise<void>;
}

/** Callbacks for measurements (metrics); all optional. */
export interface PipelineEvents {
  /** A hook phase ran (also when it failed), with each hook's duration. */
  onHooks?(app: string, phase: 'pre-update' | 'post-update' | 'validate', runs: readonly { hook: string; durationMs: number }[]): void;
  /** A fetch finished: how long it took, the bytes it transferred, and the bytes it cloned from the current release. */
  onDownload?(app: string, durationMs: number, bytes: number, reusedBytes?: number): void;
  /** A hook is about to start (awaited): `status` shows it while it runs. */
  onHookStart?(app: string, phase: 'pre-update' | 'post-update', hook: string): void | Promise<void>;
  /** The download of `version` is about to start (awaited). */
  onFetchStart?(app: string, version: string): void | Promise<void>;
  /** The state changed by `transition` (already saved); `state` is the state after it. */
  onTransition?(app: string, transition: Transition, state: Readonly<AppState>): void;
}

/** Options shared by the pipeline's entry points. */
export interface RunOptions {
  /** Measurements, e.g. for /metrics. */
  events?: PipelineEvents;
  /**
   * Fleet coordination for apps with `etcd` set. The daemon passes one that lives as long as it
   * does (its lease carries the agent's registration); without one, a check opens its own.
   */
  coordinator?: Coordinator;
  app: AppConfig;
  logger: Logger;
  signal?: AbortSignal;
  /** Clock, injectable for tests of back-off. */
  now?: () => Date;
  /**
   * Move bulk data in child processes (fetches, a check's download): set by long-lived
   * callers (the daemon), whose memory would otherwise stay at the high-water mark of a deploy.
   */
  isolate?: boolean;
}

/** Builds the context of a run: remote, release store, state (read from disk). */
export async function createRunContext(options: RunOptions): Promise<RunContext> {
  const { app } = options;
  const direct = openRemote(app.remoteSpec);
  const remote = options.isolate ? withFetchInChild(direct, app.remoteSpec) : direct;
  await checkLayout(app);
  const logger = options.logger.child({ app: app.name });
  const path = statePath(app.deployDir);
  const state = await readState(path);
  const ctx: RunContext = {
    app,
    logger,
    store: new ReleaseStore({ link: app.local, deployDir: app.deployDir }),
    remote,
    remoteCtx: {
      cacheDir: remoteCacheDir(app, remote.kind),
      logger,
      ...(options.signal ? { signal: options.signal } : {}),
    },
    ...sourceOf(app, remote),
    state,
    statePath: path,
    ...(options.signal ? { signal: options.signal } : {}),
    now: options.now ?? (() => new Date()),
    events: options.events ?? {},
    coordinator: options.coordinator ?? noCoordinator,
    save: () => writeState(path, ctx.state),
  };
  return ctx;
}

/** The cache directory private to one remote: keyed by its URL so two apps never share one. */
export function remoteCacheDir(app: AppConfig, kind: string): string {
  return join(app.cacheDir, kind, createHash('sha256').update(app.remote).digest('hex').slice(0, 16));
}
