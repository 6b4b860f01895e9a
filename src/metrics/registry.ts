import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CheckOutcome } from '../pipeline/check.js';
import { allResults, results } from '../pipeline/results.js';
import type { AppStatus } from '../status.js';

import type { HookPhase } from '../hooks/types.js';

export type { HookPhase } from '../hooks/types.js';


/** Release versions remembered per app. */
const maxRemembered = 100;

// Hooks restart services and wait for health checks: seconds to minutes (timeout 10m).
const hookBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
// Downloads range from a 304 on an unchanged remote to a multi-gigabyte archive.
const downloadBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * The agent's Prometheus metrics, in a registry of its own: the process-wide
 * default registry is left alone so a program embedding the library can keep its own metrics
 * there without name clashes, and two agents in one process (tests) do not share counters.
 */
export class AgentMetrics {
  /** The registry `/metrics` serves. */
  readonly registry = new Registry();
  private readonly checks = new Counter({ name: 'repo_deploy_checks_total', help: 'Checks of a remote, by how they ended.', labelNames: ['app', 'result'], registers: [this.registry] });
  private readonly deploys = new Counter({ name: 'repo_deploy_deploys_total', help: 'Update attempts (a new version was fetched), by how they ended.', labelNames: ['app', 'result'], registers: [this.registry] });
  private readonly lastSuccess = new Gauge({ name: 'repo_deploy_last_success_timestamp_seconds', help: 'Unix time of the last check that ended up to date or deployed.', labelNames: ['app'], registers: [this.registry] });
  private readonly lastDeploy = new Gauge({ name: 'repo_deploy_last_deploy_timestamp_seconds', help: 'Unix time the current release was deployed.', labelNames: ['app'], registers: [this.registry] });
  private readonly releaseInfo = new Gauge({ name: 'repo_deploy_current_release_info', help: 'The release current points at (value always 1).', labelNames: ['app', 'release', 'version'], registers: [this.registry] });
  private readonly hookDuration = new Histogram({ name: 'repo_deploy_hook_duration_seconds', help: 'Time one hook ran.', labelNames: ['app', 'phase'], buckets: hookBuckets, registers: [this.registry] });
  private readonly downloadDuration = new Histogram({ name: 'repo_deploy_download_duration_seconds', help: 'Time fetching one version into staging took.', labelNames: ['app'], buckets: downloadBuckets, registers: [this.registry] });
  private readonly downloadedBytes = new Counter({ name: 'repo_deploy_downloaded_bytes_total', help: 'Bytes fetched from remotes.', labelNames: ['app'], registers: [this.registry] });
  private readonly reusedBytes = new Counter({ name: 'repo_deploy_reused_bytes_total', help: 'Bytes of new releases cloned from the current release instead of written.', labelNames: ['app'], registers: [this.registry] });
  /** The release info series currently exported per app, so a change replaces it. */
  private readonly releases = new Map<string, { release: string; version: string }>();
  /** Versions of releases seen per app, newest last, for outcomes that name only the release. */
  private readonly versions = new Map<string, Map<string, string>>();

  /** @param now clock for the timestamp gauges (tests pass a fixed one). */
  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Records one check's outcome, as the daemon's `onOutcome` hands it over. */
  observe(outcome: CheckOutcome): void {
    const app = outcome.app;
    const kind = results[outcome.result];
    this.checks.inc({ app, result: outcome.result });
    // A `failed` outcome without a version never got an answer from the remote: a failed
    // check, not an update attempt.
    if (kind.attempt && (outcome.result !== 'failed' || outcome.version !== undefined)) {
      this.deploys.inc({ app, result: outcome.result });
    }
    if (kind.success) this.lastSuccess.set({ app }, seconds(this.now()));
    if (outcome.result === 'deployed') this.lastDeploy.set({ app }, seconds(this.now()));
    if (outcome.releaseId) {
      const version = kind.versionIsCurrent && outcome.version ? outcome.version : this.versions.get(app)?.get(outcome.releaseId) ?? 'unknown';
      this.setRelease(app, outcome.releaseId, version);
    }
  }

  /** Records how long one hook ran. */
  observeHook(app: string, phase: HookPhase, durationMs: number): void {
    this.hookDuration.observe({ app, phase }, durationMs / 1000);
  }

  /** Records one fetch: how long it took and how many bytes came over the network. */
  observeDownload(app: string, durationMs: number, bytes: number, reusedBytes = 0): void {
    this.downloadDuration.observe({ app }, durationMs / 1000);
    if (bytes > 0) this.downloadedBytes.inc({ app }, bytes);
    if (reusedBytes > 0) this.reusedBytes.inc({ app }, reusedBytes);
  }

  /**
   * Fills the gauges from the recorded state at start-up, so a restarted agent exports its
   * current release and last deploy time before its first check ends.
   */
  seed(status: Pick<AppStatus, 'app' | 'current' | 'lastSuccessAt'>): void {
    if (status.current) this.setRelease(status.app, status.current.id, status.current.version);
    const at = status.lastSuccessAt ? Date.parse(status.lastSuccessAt) : NaN;
    if (Number.isFinite(at)) this.lastDeploy.set({ app: status.app }, at / 1000);
  }

  /** Stops exporting an app (removed from the config on reload). */
  forget(app: string): void {
    // prom-client removes series by their exact label set only.
    for (const result of allResults) {
      this.checks.remove({ app, result });
      this.deploys.remove({ app, result });
    }
    for (const phase of ['pre-update', 'post-update'] as const) this.hookDuration.remove({ app, phase });
    for (const metric of [this.downloadDuration, this.downloadedBytes, this.lastSuccess, this.lastDeploy]) metric.remove({ app });
    const known = this.releases.get(app);
    if (known) this.releaseInfo.remove({ app, ...known });
    this.releases.delete(app);
    this.versions.delete(app);
  }

  /** The Prometheus text exposition of every metric. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of `text()`. */
  get contentType(): string {
    return this.registry.contentType;
  }

  private setRelease(app: string, release: string, version: string): void {
    const known = this.releases.get(app);
    if (known && (known.release !== release || known.version !== version)) this.releaseInfo.remove({ app, ...known });
    this.releaseInfo.set({ app, release, version }, 1);
    this.releases.set(app, { release, version });
    if (version === 'unknown') return;
    const seen = this.versions.get(app) ?? new Map<string, string>();
    seen.delete(release);
    seen.set(release, version);
    // Far more than `keep` releases: a rollback target is always among them.
    if (seen.size > maxRemembered) seen.delete(seen.keys().next().value!);
    this.versions.set(app, seen);
  }
}

function seconds(date: Date): number {
  return date.getTime() / 1000;
}
