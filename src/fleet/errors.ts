import { ExitCode, RepoDeployError } from '../errors.js';
import type { QuarantineRecord } from './types.js';

/**
 * Typed errors of fleet coordination. They live here rather than in `src/errors.ts` so the
 * fleet module stays one folder; each extends `RepoDeployError` and maps to one exit code.
 */

/**
 * etcd could not be reached (or refused us) within the request bound. With
 * `rollout-unavailable = wait` the agent does not deploy: it cannot know it may. Exit 75, like
 * any temporary condition that a later run may not meet.
 */
export class FleetUnavailableError extends RepoDeployError {
  readonly exitCode = ExitCode.busy;
  /** The etcd endpoints tried (never with credentials). */
  readonly endpoints: readonly string[];
  constructor(endpoints: readonly string[], what: string, options?: { cause?: unknown }) {
    const detail = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`etcd unreachable (${endpoints.join(', ')}) while ${what}${detail}`, options);
    this.endpoints = endpoints;
  }
}

/** No rollout slot came free before the deadline (`-f` waiting for a slot). Exit 75. */
export class SlotTimeoutError extends RepoDeployError {
  readonly exitCode = ExitCode.busy;
  /** Rollout group waited on. */
  readonly group: string;
  /** How long we waited, in milliseconds. */
  readonly waitedMs: number;
  constructor(group: string, maxParallel: number, waitedMs: number) {
    super(
      `no rollout slot of group ${group} came free in ${Math.round(waitedMs)} ms ` +
        `(all ${maxParallel} held by other hosts); try again later`,
    );
    this.group = group;
    this.waitedMs = waitedMs;
  }
}

/**
 * The version is quarantined: another host reverted it. Raised by `acquireSlot` when the
 * version was quarantined while this host waited for its slot. Exit 1, like a failed update.
 */
export class VersionQuarantinedError extends RepoDeployError {
  readonly exitCode = ExitCode.failed;
  /** Who quarantined it, when and why. */
  readonly record: QuarantineRecord;
  constructor(record: QuarantineRecord) {
    super(
      `version ${record.version} is quarantined: reverted on ${record.host} at ${record.time} ` +
        `(${record.reason}); lift with \`repo-deploy fleet clear ${record.version}\``,
    );
    this.record = record;
  }
}
