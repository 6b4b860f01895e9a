import type { AppConfig } from '../config/types.js';
import { UpdateFailedError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import type { Fleet } from './fleet.js';
import type { FleetPausedError, FleetUnavailableError, SlotTimeoutError, VersionQuarantinedError } from './errors.js';
import type { QuarantineRecord, Slot } from './types.js';

/**
 * The one seam between the update flow and fleet coordination. The pipeline always holds a
 * `Coordinator`: the etcd one for apps with `etcd` set, `noCoordinator` otherwise, so it never
 * asks whether a fleet exists. This module imports no etcd code: hosts without a fleet never
 * load the etcd client.
 */

/** What the fleet answered to "may this host deploy `version` now?", in one form. */
export type Admission =
  /** Go ahead. `slot` is held until `settle`; null without a fleet or when deploying uncoordinated. */
  | { verdict: 'go'; slot: Slot | null }
  /** Another host reverted this version: not deployed here until `fleet clear`. */
  | { verdict: 'quarantined'; error: VersionQuarantinedError }
  /** etcd unreachable and `rollout-unavailable = wait`: this host cannot know it may deploy. */
  | { verdict: 'unavailable'; error: FleetUnavailableError }
  /** No rollout slot came free within `rollout-wait`. */
  | { verdict: 'busy'; error: SlotTimeoutError }
  /** The run was asked to stop while waiting for a slot. */
  | { verdict: 'stopped' }
  /** The rollout group is paused (`repo-deploy fleet pause`): no new version starts. */
  | { verdict: 'paused'; error: FleetPausedError };

/** A refusal: every admission but `go`. */
export type Refusal = Exclude<Admission, { verdict: 'go' }>;

/** How an update ended, for `settle`. */
export type Settlement =
  | { ok: true }
  | { ok: false; reason: string }
  /** Neither: the slot goes back, the host's rollout stays open (a stop during the bake, a full disk). */
  | { ok: null };

/**
 * How an update that failed after the swap settles: a revert quarantines the version for the
 * group; any other failure (a full disk while saving) is not the version's fault.
 */
export function settlementOfFailure(error: unknown): Settlement {
  const reverted = error instanceof UpdateFailedError && error.reason === 'reverted';
  return reverted ? { ok: false, reason: messageOf(error) } : { ok: null };
}

/** What this agent tells its group after a check (`repo-deploy fleet status`). */
export interface AgentReport {
  /** Version deployed now, if any. */
  version?: string;
  /** Release id deployed now, if any. */
  release?: string;
  /** ISO time of the check. */
  lastCheckAt: string;
  /** The check's result. */
  result: string;
  /** Set while this host holds its previous release after the fleet quarantined its version. */
  rolledBack?: { version: string; by: string; reason: string; at: string };
}

/** Options of `Coordinator.admit`. */
export interface AdmitOptions {
  /** Stops waiting for a slot: the admission is then `stopped`. */
  signal?: AbortSignal;
}

/** Fleet coordination as the update flow sees it. None of its methods throws fleet errors. */
export interface Coordinator {
  /**
   * Whether `version` may be deployed here at all (not quarantined, etcd reachable or the
   * policy says deploy anyway). Asked before the fetch, so a refused version costs no download
   * and no hooks; never `busy`.
   */
  screen(version: string): Promise<Admission>;
  /**
   * The group's quarantine record of `version` (a version this host already runs: the fleet
   * rollback asks at every check). Null when there is none or etcd cannot say; one read, and
   * nothing a new version's screening logs.
   */
  quarantineOf(version: string): Promise<QuarantineRecord | null>;
  /**
   * Takes a rollout slot for `version`, after the pre-update hooks and right before the swap,
   * so at most `max-parallel` hosts sit between swap and confirmed success.
   */
  admit(version: string, options?: AdmitOptions): Promise<Admission>;
  /**
   * After the post-update hooks: a failure quarantines `version` for the group, then the slot
   * is given back. Never throws (etcd failures are logged; the lease frees the slot anyway).
   */
  settle(version: string, slot: Slot | null, outcome: Settlement): Promise<void>;
  /** Registers this agent's version and last check with the group (best effort, never throws). */
  report(agent: AgentReport): Promise<void>;
  /** Leaves the group (revokes the lease) and closes the connection. */
  close(): Promise<void>;
}

/** The coordinator of an app without `etcd`: everything is admitted, nothing is recorded. */
export const noCoordinator: Coordinator = {
  screen: () => Promise.resolve({ verdict: 'go', slot: null }),
  quarantineOf: () => Promise.resolve(null),
  admit: () => Promise.resolve({ verdict: 'go', slot: null }),
  settle: () => Promise.resolve(),
  report: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

/** Opens the etcd connection of an app (no request is made until it is used); undefined without `etcd`. */
export async function openFleet(app: AppConfig, logger: Logger): Promise<Fleet | undefined> {
  if (!app.rollout) return undefined;
  const { Fleet } = await import('./fleet.js');
  const { waitMs: _waitMs, ...rollout } = app.rollout;
  return Fleet.connect({ ...rollout, agentId: app.id }, logger.child({ app: app.name }));
}

/** The coordinator of an app: etcd's when `etcd` is set (loaded only then), undefined otherwise. */
export async function openCoordinator(app: AppConfig, logger: Logger): Promise<Coordinator | undefined> {
  const fleet = await openFleet(app, logger);
  if (!fleet) return undefined;
  const { EtcdCoordinator } = await import('./etcd-coordinator.js');
  return new EtcdCoordinator(fleet, app.rollout?.waitMs, logger.child({ app: app.name }));
}
