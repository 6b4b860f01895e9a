import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { AppConfig } from '../config/types.js';
import type { Fleet } from '../fleet/fleet.js';
import type { Logger } from '../log.js';
import { createRemote } from '../remotes/index.js';
import { withFetchInChild } from '../remotes/isolated.js';
import type { Remote, RemoteContext } from '../remotes/types.js';
import { ReleaseStore } from '../release/store.js';
import type { ReleaseSource } from '../release/release-meta.js';
import { checkLayout } from './layout.js';
import { sourceOf } from './source.js';
import { readState, statePath, writeState, type AppState } from './state.js';

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
  fleet?: Fleet;
  /** Saves `state` atomically. */
  save(): Promise<void>;
}

/** Callbacks for measurements (metrics); all optional. */
export interface PipelineEvents {
  /** A hook phase ran (also when it failed), with each hook's duration. */
  onHooks?(app: string, phase: 'pre-update' | 'post-update', runs: readonly { hook: string; durationMs: number }[]): void;
  /** A fetch finished: how long it took, the bytes it transferred, and the bytes it cloned from the current release. */
  onDownload?(app: string, durationMs: number, bytes: number, reusedBytes?: number): void;
}

/** Options shared by the pipeline's entry points. */
export interface RunOptions {
  /** Measurements, e.g. for /metrics. */
  events?: PipelineEvents;
  /**
   * Fleet coordination for apps with `etcd` set. The daemon passes one that lives as long as it
   * does (its lease carries the agent's registration); without one, a run opens its own.
   */
  fleet?: Fleet;
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
  const direct = createRemote(app.remote, app);
  const remote = options.isolate ? withFetchInChild(direct, app.remote, app) : direct;
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
      ...(options.isolate ? { isolate: true } : {}),
    },
    ...sourceOf(app, remote),
    state,
    statePath: path,
    ...(options.signal ? { signal: options.signal } : {}),
    now: options.now ?? (() => new Date()),
    events: options.events ?? {},
    ...(options.fleet ? { fleet: options.fleet } : {}),
    save: () => writeState(path, ctx.state),
  };
  return ctx;
}

/** The cache directory private to one remote: keyed by its URL so two apps never share one. */
export function remoteCacheDir(app: AppConfig, kind: string): string {
  return join(app.cacheDir, kind, createHash('sha256').update(app.remote).digest('hex').slice(0, 16));
}

/** Opens the fleet coordination of an app (no etcd request is made until it is used). */
export async function openFleet(app: AppConfig, logger: Logger): Promise<Fleet | undefined> {
  if (!app.rollout) return undefined;
  const { Fleet } = await import('../fleet/fleet.js');
  const { waitMs: _waitMs, ...rollout } = app.rollout;
  return Fleet.connect({ ...rollout, agentId: app.id }, logger.child({ app: app.name }));
}
