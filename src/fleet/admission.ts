import type { Etcd3 } from 'etcd3';
import type { Logger } from '../log.js';
import { FleetPausedError, SlotTimeoutError, VersionQuarantinedError, WaveTimeoutError } from './errors.js';
import { pruneAgents, pruneRollouts } from './group-status.js';
import { rolloutHostKey, rolloutMarksPrefix, slotKey, slotsPrefix } from './keys.js';
import type { LeaseKeeper } from './lease-keeper.js';
import { readPause, readQuarantine } from './records.js';
import type { RolloutRecord } from './rollout-types.js';
import { admitHost, positionOf, readRollout } from './rollouts.js';
import { delay, slotHandle, tryTakeSlot } from './slots.js';
import { fleetDefaults, type AcquireOptions, type FleetConfig, type Slot } from './types.js';
import { defaultWaves, type WavePosition } from './waves.js';

/**
 * Who may enter a rollout: not while the group is paused or the version quarantined, only
 * within the open wave, and only with one of `max-parallel` slots. A host that may not yet
 * waits, woken by a watch on slot releases and on the version's rollout record (a host
 * confirming may open the next wave), polling as a fallback.
 */

/** What admission needs of the `Fleet` it works for. */
export interface AdmissionDeps {
  client: Etcd3;
  lease: LeaseKeeper;
  config: FleetConfig;
  logger: Logger;
  /** Runs one etcd operation, turning etcd failures into `FleetUnavailableError`. */
  call<T>(what: string, operation: () => Promise<T>): Promise<T>;
}

type Attempt = { slot: Slot } | { wait: 'slot' } | { wait: 'wave'; position: WavePosition; record: RolloutRecord };

/** Waits until this host may roll out `version` and holds a slot for it; see `Fleet.acquireSlot`. */
export async function admit(deps: AdmissionDeps, version: string, opts: AcquireOptions): Promise<Slot> {
  const { config, logger } = deps;
  const started = Date.now();
  const deadline = opts.deadlineMs === undefined ? Infinity : started + opts.deadlineMs;
  // Polling only backs up the watch (a reconnecting watch can miss an event); a third of the
  // TTL, within 1-5 s, keeps waiting hosts' reads modest while bounding a missed wake-up.
  const pollMs = Math.min(5_000, Math.max(1_000, config.leaseTtlMs / 3));
  const watch = watchAdmission(deps.client, config, version);
  let said: string | null = null;
  let last: Attempt | null = null;
  try {
    for (;;) {
      opts.signal?.throwIfAborted();
      const previous: Attempt | null = last;
      const attempt: Attempt = await deps.call('taking a rollout slot', () => attemptOnce(deps, version, previous));
      last = attempt;
      if ('slot' in attempt) {
        logger.info({ version, slot: attempt.slot.index, waitedMs: Date.now() - started }, 'rollout slot taken');
        return attempt.slot;
      }
      const waitedMs = Date.now() - started;
      if (deadline - Date.now() <= 0) {
        if (attempt.wait === 'slot') throw new SlotTimeoutError(config.group, config.maxParallel, waitedMs);
        throw new WaveTimeoutError(config.group, config.maxParallel, waitedMs, waveOf(version, attempt));
      }
      if (said !== attempt.wait) {
        said = attempt.wait;
        if (attempt.wait === 'slot') logger.info({ version, maxParallel: config.maxParallel }, 'waiting for a rollout slot');
        else logger.info(waveOf(version, attempt), 'waiting for the hosts of the open wave to confirm');
      }
      // A small random pause after a wake-up spreads the hosts that saw the same event.
      const jitterMs = Math.random() * Math.min(500, config.leaseTtlMs / 10);
      const interest = attempt.wait === 'slot' ? { slot: true } : { slot: false, confirmations: attempt.position.limit - attempt.record.confirmed };
      // A wave waits for whole updates (hooks, bake): its waiters poll less often.
      const everyMs = attempt.wait === 'slot' ? pollMs : 3 * pollMs;
      await waitFor(Math.min(everyMs, deadline - Date.now()), watch.next(interest).then(() => delay(jitterMs)), opts.signal);
    }
  } finally {
    await watch.stop();
  }
}

function waveOf(version: string, attempt: { position: WavePosition; record: RolloutRecord }) {
  return { version, wave: attempt.position.wave + 1, waves: attempt.position.waves, confirmed: attempt.record.confirmed, limit: attempt.position.limit };
}

/** One try: refuse, wait for the wave, wait for a slot, or admitted with a slot. */
async function attemptOnce(deps: AdmissionDeps, version: string, last: Attempt | null): Promise<Attempt> {
  const { client, config } = deps;
  const { group, agentId } = config;
  // Every release wakes every host waiting for a slot: they look at the slots first, in one
  // small read, and go back to waiting while all are held (a pause or quarantine is seen once
  // a slot frees: hosts in flight settle before they release).
  if (last && 'wait' in last && last.wait === 'slot' && (await client.getAll().prefix(slotsPrefix(group)).count()) >= config.maxParallel) return last;
  const steps = config.waves ?? defaultWaves;
  const [paused, bad, record, mine] = await Promise.all([
    readPause(client, group),
    readQuarantine(client, group, version),
    readRollout(client, group, version),
    client.get(rolloutHostKey(group, version, agentId)).string(),
  ]);
  if (paused) throw new FleetPausedError(group, paused);
  if (bad) throw new VersionQuarantinedError(bad);
  // A host already admitted keeps its place; others check the wave before taking a slot, so
  // hosts of later waves do not hold slots they cannot use.
  if (record && mine === null) {
    const position = await positionOf(client, group, record, steps);
    if (!position.admits) return { wait: 'wave', position, record };
  }
  const taken = await tryTakeSlot(client, deps.lease, config, version);
  if (!taken) return { wait: 'slot' };
  const slot = slotHandle(client, taken, deps.logger);
  try {
    // Read with the slot held: a host that reverts quarantines before it gives its slot back.
    const badNow = await readQuarantine(client, group, version);
    if (badNow) throw new VersionQuarantinedError(badNow);
    const admission = await admitHost(client, group, version, agentId, steps);
    if (admission.admitted) {
      if (admission.first) void prune(deps);
      return { slot };
    }
    await slot.release();
    if (admission.reason === 'paused') throw new FleetPausedError(group, (await readPause(client, group)) ?? { by: 'unknown', time: '' });
    return { wait: 'wave', position: admission.position, record: admission.record };
  } catch (error) {
    await slot.release().catch(() => {});
    throw error;
  }
}

/** The first host of a new version tidies the group: old rollouts, long-silent agents. */
async function prune(deps: AdmissionDeps): Promise<void> {
  try {
    await pruneRollouts(deps.client, deps.config.group);
    await pruneAgents(deps.client, deps.config.group, deps.config.agentRetentionMs ?? fleetDefaults.agentRetentionMs);
  } catch (error) {
    deps.logger.debug({ err: (error as Error).message }, 'could not prune old fleet records');
  }
}

/** What a waiting host wants to hear of: a slot release, or its wave opening. */
interface Interest {
  slot: boolean;
  /** Waiting for the wave: wake after this many more confirmations (or one failure). */
  confirmations?: number;
}

/**
 * Resolves `next()` on an event the caller waits for: a slot release (waiting for a slot), a
 * rollout record whose counts open the wave (waiting for the wave: not every confirmation, so
 * the hosts of later waves are not all woken by each one), or a lost watch connection (so the
 * caller retries at once and finds out whether etcd is still there).
 */
function watchAdmission(client: Etcd3, config: FleetConfig, version: string): { next(interest: Interest): Promise<void>; stop(): Promise<void> } {
  let wake: (() => void) | null = null;
  let pending = false;
  let interest: Interest = { slot: true };
  const fire = () => {
    const w = wake;
    wake = null;
    if (w) w();
    else pending = true;
  };
  // Confirmations are counted as they come, so a host of a later wave wakes once, when its
  // wave may open, not at every confirmation of the wave before.
  const confirmed = () => {
    interest = { ...interest, confirmations: (interest.confirmations ?? 0) - 1 };
    return (interest.confirmations ?? 0) <= 0;
  };
  // `watcher()` hands back the Watcher at once, so it can be cancelled even while etcd is
  // unreachable; a watcher left attached would keep the process alive.
  // One slot, picked at random, not all: a release wakes about waiters / max-parallel hosts
  // instead of every one (hundreds, in the last wave of a big group); the poll covers the rest.
  const watched = slotKey(config.group, Math.floor(Math.random() * config.maxParallel));
  const slots = client.watch().key(watched).only('delete').watcher();
  const done = client.watch().prefix(rolloutMarksPrefix(config.group, version, 'done')).only('put').watcher();
  const failed = client.watch().prefix(rolloutMarksPrefix(config.group, version, 'failed')).only('put').watcher();
  // Between two waits the caller is busy deciding; any event then may matter (its wait may
  // turn from slot to wave), so it is kept rather than filtered.
  slots.on('delete', () => (!wake || interest.slot) && fire());
  done.on('put', () => (!wake || (!interest.slot && confirmed())) && fire());
  failed.on('put', () => (!wake || !interest.slot) && fire());
  const watchers = [slots, done, failed];
  for (const watcher of watchers) {
    watcher.on('disconnected', fire);
    watcher.on('error', fire);
  }
  return {
    next(wanted) {
      interest = wanted;
      if (!pending) return new Promise<void>((resolve) => (wake = resolve));
      pending = false;
      return Promise.resolve();
    },
    async stop() {
      wake = null;
      // Detaching a connected watcher waits for etcd's answer; never wait long for it.
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, 1_000)));
      await Promise.race([Promise.all(watchers.map((w) => w.cancel().catch(() => {}))), bound]);
      clearTimeout(timer);
    },
  };
}

/** Resolves after `ms`, or when `wake` resolves; rejects when `signal` aborts. Leaves no timer. */
function waitFor(ms: number, wake: Promise<void>, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    void wake.then(done);
  });
}
