/**
 * Records of a version's rollout through the group, of a paused group, and what
 * `repo-deploy fleet status` shows of them. Stored in etcd without a lease: they describe the
 * group, not one host, and must outlive every host (cron agents above all).
 */

/** Where one host stands in a version's rollout. */
export type RolloutHostState = 'in-flight' | 'confirmed' | 'failed';

/** One version's rollout: its waves and start (stored once), and its counts (counted keys). */
export interface RolloutRecord {
  /** The remote's version string. */
  version: string;
  /** Waves in effect for this version (`1, 10%, 100%`): those of the first host admitted. */
  waves: string;
  /** Hosts admitted so far; the n-th host admitted has place n. */
  admitted: number;
  /** Admitted hosts between admission and settling now. */
  inFlight: number;
  /** Hosts that confirmed the version (settled ok, after any bake). */
  confirmed: number;
  /** Hosts that reverted it. */
  failed: number;
  /** ISO time the first host was admitted. */
  startedAt: string;
}

/** One host's place in a version's rollout. */
export interface RolloutHost {
  /** Agent id. */
  host: string;
  /** Admission order, from 1: the host's place in the waves (its key's create revision rank). */
  place: number;
  /** Where it stands. */
  state: RolloutHostState;
  /** ISO time of its admission. */
  admittedAt: string;
  /** ISO time it settled, once settled. */
  settledAt?: string;
}

/** Written by `repo-deploy fleet pause`; removed by `fleet resume`. */
export interface PauseRecord {
  /** Who paused: the agent id (hostname) of the host the command ran on. */
  by: string;
  /** ISO time it was paused. */
  time: string;
}

/** Why hosts that have not entered a version's rollout wait. */
export type WaitReason = 'quarantined' | 'paused' | 'wave' | 'max-parallel' | 'next-check' | 'none';

/** One version's rollout as `fleet status` shows it. */
export interface RolloutStatus extends RolloutRecord {
  /** The open wave, from 1. */
  wave: number;
  /** Waves in all. */
  waveCount: number;
  /** Cumulative hosts the open wave admits (null: unbounded, the last wave). */
  waveLimit: number | null;
  /** Hosts of the group not yet admitted to this version. */
  waiting: number;
  /** Why they wait, the first that applies. */
  waitReason: WaitReason;
  /** The hosts admitted, by place. */
  hosts: RolloutHost[];
}
