import type { Etcd3 } from 'etcd3';
import type { Logger } from '../log.js';
import { slotKey, slotsPrefix } from './keys.js';
import type { LeaseKeeper } from './lease-keeper.js';
import type { FleetConfig, Slot, SlotRecord } from './types.js';

/**
 * Rollout slots: a counting semaphore of `max-parallel` keys. Each slot is a try-lock on its own
 * key, created by a transaction that succeeds only if the key does not exist
 * (`create_revision == 0`) and bound to the agent's lease, so etcd itself guarantees that no
 * two hosts hold one index, and a dead holder's slot vanishes with its lease.
 */

/** A slot taken, before it is wrapped for the caller. */
export interface TakenSlot {
  index: number;
  key: string;
  /** The key's create revision: release deletes the key only if it is still this one. */
  createRevision: string;
  lost: AbortSignal;
}

/**
 * One attempt: reads which slots are held (one range request), then tries the free ones in
 * random order so waiters woken together spread over different keys. Null when all are held.
 */
export async function tryTakeSlot(
  client: Etcd3,
  lease: LeaseKeeper,
  config: FleetConfig,
  version: string,
): Promise<TakenSlot | null> {
  const held = new Set(await client.getAll().prefix(slotsPrefix(config.group)).keys());
  const free: number[] = [];
  for (let index = 0; index < config.maxParallel; index++) {
    if (!held.has(slotKey(config.group, index))) free.push(index);
  }
  // A slot above max-parallel (left by a host configured with a higher limit) still counts.
  if (held.size >= config.maxParallel || free.length === 0) return null;
  shuffle(free);
  const { id, lost } = await lease.current();
  for (const index of free) {
    const key = slotKey(config.group, index);
    const record: SlotRecord = { index, host: config.agentId, version, since: new Date().toISOString() };
    const result = await client
      .if(key, 'Create', '==', 0)
      .then(client.put(key).value(JSON.stringify(record)).lease(id))
      .commit();
    if (result.succeeded) {
      const revision = result.header.revision;
      return { index, key, createRevision: revision, lost };
    }
  }
  return null;
}

/** Wraps a taken slot for the caller; `release` is idempotent and never frees another's slot. */
export function slotHandle(client: Etcd3, taken: TakenSlot, logger: Logger): Slot {
  let released: Promise<void> | null = null;
  return {
    index: taken.index,
    lost: taken.lost,
    release() {
      released ??= client
        .if(taken.key, 'Create', '==', taken.createRevision)
        .then(client.delete().key(taken.key))
        .commit()
        .then((result) => {
          // Not ours any more: our lease expired and another host took the index. Say so.
          if (!result.succeeded) logger.warn({ slot: taken.index }, 'rollout slot was no longer ours when released');
          else logger.debug({ slot: taken.index }, 'rollout slot released');
        });
      return released;
    },
  };
}

/** Sleeps `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
