/**
 * Types of fleet coordination: the settings an agent needs to join a
 * rollout group in etcd, and the records it reads back for `repo-deploy fleet status`.
 */

/** How an agent of a fleet reaches etcd and takes part in its rollout group. */
export interface FleetConfig {
  /** etcd client URLs, `http://` or `https://` (the `etcd` key, comma-separated). */
  endpoints: string[];
  /** etcd user and password, when etcd has authentication enabled. */
  auth?: { username: string; password: string };
  /** TLS files (paths): CA to trust, and a client certificate and key for mutual TLS. */
  tls?: { ca?: string; cert?: string; key?: string };
  /** Rollout group (`rollout-group`, default: the app name): agents sharing slots and quarantine. */
  group: string;
  /** Hosts of the group that may sit between swap and confirmed success at once (`max-parallel`). */
  maxParallel: number;
  /** Lease TTL in milliseconds (`lease-ttl`): how long a dead agent keeps its slot and record. */
  leaseTtlMs: number;
  /** This agent's id (`--id`, default: the hostname). */
  agentId: string;
  /** `rollout-unavailable`: with etcd unreachable, `wait` (default) skips the update, `deploy` goes on. */
  unavailable: 'wait' | 'deploy';
  /**
   * Bound in milliseconds on one etcd request, so an unreachable etcd is reported instead of
   * hanging a check (default 5000).
   */
  requestTimeoutMs?: number;
}

/** Defaults of the optional fleet settings, as documented in the README. */
export const fleetDefaults = {
  maxParallel: 1,
  leaseTtlMs: 15_000,
  unavailable: 'wait',
  requestTimeoutMs: 5_000,
} as const;

/**
 * etcd grants no lease shorter than 1.5 election timeouts, rounded up to whole seconds: 2 s with
 * its default heartbeat (100 ms) and election timeout (1 s). Shorter TTLs are silently raised.
 */
export const minLeaseTtlMs = 2_000;

/** What an agent last told the group about itself; gone when its lease expires. */
export interface AgentRecord {
  /** Agent id (hostname). */
  id: string;
  /** Version deployed now, if any. */
  version?: string;
  /** Release id deployed now, if any. */
  release?: string;
  /** ISO time of the agent's last check of the remote. */
  lastCheckAt: string;
  /** Result of that check (`up-to-date`, `deployed`, `reverted`, `waiting for slot`, ...). */
  result: string;
  /** ISO time this record was written. */
  updatedAt: string;
}

/** A version recorded as bad by the first host that reverted it; persists until cleared. */
export interface QuarantineRecord {
  /** The remote's version string. */
  version: string;
  /** Agent id of the host that reverted it. */
  host: string;
  /** ISO time it was recorded. */
  time: string;
  /** Why, e.g. the failing hook and its exit status. */
  reason: string;
}

/** A rollout slot held by one host, bound to its lease. */
export interface SlotRecord {
  /** Slot index, 0 .. max-parallel - 1. */
  index: number;
  /** Agent id of the holder. */
  host: string;
  /** Version the holder is rolling out. */
  version: string;
  /** ISO time the slot was taken. */
  since: string;
}

/** Everything `repo-deploy fleet status` shows about a group. */
export interface FleetStatus {
  /** Agents alive in the group, sorted by id. */
  agents: AgentRecord[];
  /** Quarantined versions, oldest first. */
  quarantined: QuarantineRecord[];
  /** Slots held now, by index. */
  slots: SlotRecord[];
}

/** A held rollout slot. */
export interface Slot {
  /** Slot index taken. */
  readonly index: number;
  /**
   * Aborted when the lease under the slot was lost (etcd unreachable longer than the TTL, or
   * the lease revoked): the slot may then be held by another host.
   */
  readonly lost: AbortSignal;
  /** Gives the slot back; safe to call twice, and harmless if the lease was lost meanwhile. */
  release(): Promise<void>;
}

/** Options of `Fleet.acquireSlot`. */
export interface AcquireOptions {
  /** Stops waiting (rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Longest wait in milliseconds; then `SlotTimeoutError`. Default: no bound. */
  deadlineMs?: number;
}
