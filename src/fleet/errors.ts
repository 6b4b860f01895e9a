import { ExitCode, RepoDeployError } from '../errors.js';
import type { PauseRecord } from './rollout-types.js';
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
    const reason = options?.cause === undefined ? '' : `: ${etcdFailureReason(options.cause)}`;
    super(
      `etcd unreachable at ${endpoints.join(', ')} while ${what}${reason}; check that etcd runs there and that ` +
        'the `etcd` key lists its client URLs (with rollout-unavailable = deploy, updates go ahead uncoordinated meanwhile)',
      options,
    );
    this.endpoints = endpoints;
  }
}

/**
 * What went wrong talking to etcd, in words. The grpc client's own messages
 * (`14 UNAVAILABLE: No connection established. Last error: null. Resolution note: `) say
 * little and sometimes nothing; the known shapes are translated, anything else is kept
 * without grpc's status prefix.
 */
export function etcdFailureReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/ECONNREFUSED/.test(message)) return 'connection refused';
  if (/Name resolution failed|ENOTFOUND|EAI_AGAIN/.test(message)) return 'its host name does not resolve';
  if (/DEADLINE_EXCEEDED|Deadline exceeded/i.test(message)) return 'no answer in time';
  if (/Protocol error/.test(message)) return "the endpoint does not speak etcd's gRPC protocol (is it etcd's client URL?)";
  if (/circuit breaker is open/i.test(message)) return 'it failed just before and is not tried again yet';
  if (/UNAUTHENTICATED|authentication failed|invalid auth token/i.test(message)) return 'etcd refused the credentials (check etcd-user and etcd-password)';
  if (/PERMISSION_DENIED|permission denied/i.test(message)) return 'etcd denied this user access to the keys (check the role of etcd-user)';
  const last = /Last error: (.*?)(?: \(\d{4}-[^)]*\))?\. Resolution note/.exec(message)?.[1];
  if (last !== undefined) return last === 'null' || last === '' ? 'no connection could be made' : last.replace(/^Error: /, '');
  return message.replace(/^\d+ [A-Z_]+: /, '') || 'unknown error';
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

/**
 * The rollout group is paused (`repo-deploy fleet pause`): no host starts a new version until
 * `fleet resume`. Exit 0: an operator's choice, not a failure for cron to mail about.
 */
export class FleetPausedError extends RepoDeployError {
  readonly exitCode = ExitCode.ok;
  /** Rollout group paused. */
  readonly group: string;
  /** Who paused it and when. */
  readonly record: PauseRecord;
  constructor(group: string, record: PauseRecord) {
    super(`rollout group ${group} is paused (by ${record.by} at ${record.time}): no new version starts until \`repo-deploy fleet resume ${group}\``);
    this.group = group;
    this.record = record;
  }
}

/**
 * The open wave of a version did not complete before the deadline: the hosts of the earlier
 * waves have not all confirmed. Exit 75 like a slot timeout (a `SlotTimeoutError`, so callers
 * treat both alike); a later run takes its turn.
 */
export class WaveTimeoutError extends SlotTimeoutError {
  constructor(group: string, maxParallel: number, waitedMs: number, wave: { version: string; wave: number; waves: number; confirmed: number; limit: number }) {
    super(group, maxParallel, waitedMs);
    this.message =
      `version ${wave.version} did not reach this host's wave in ${Math.round(waitedMs)} ms: wave ${wave.wave} of ${wave.waves} ` +
      `of group ${group} has ${wave.confirmed} of ${wave.limit} hosts confirmed; a later run takes its turn (see repo-deploy fleet status)`;
  }
}
