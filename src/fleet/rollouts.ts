import type { Etcd3 } from 'etcd3';
import { agentsPrefix, pausedKey, rolloutHostKey, rolloutKey } from './keys.js';
import type { RolloutHost, RolloutHostState, RolloutRecord } from './rollout-types.js';
import { formatWaves, parseWaves, wavePosition, type WavePosition, type WaveStep } from './waves.js';

/**
 * A version's rollout record and its host records. Every change writes the version's record
 * and one host's record in one transaction that holds only if neither changed since they were
 * read: admission order and counts stay exact however many hosts race, and a host cannot be
 * admitted past a pause set meanwhile.
 */

/** What `admitHost` decided. */
export type Admission =
  /** Admitted (or admitted before: a host keeps its place when it comes back). */
  | { admitted: true; place: number; record: RolloutRecord }
  /** The open wave is full; waits until its hosts confirm. */
  | { admitted: false; reason: 'wave'; position: WavePosition; record: RolloutRecord }
  /** The group is paused. */
  | { admitted: false; reason: 'paused' };

/** A read of the two records, with the revisions the write compares against. */
interface Read {
  record: RolloutRecord | null;
  host: RolloutHost | null;
  recordRevision: string;
  hostRevision: string;
}

/**
 * Admits `host` to `version`'s rollout if the open wave has room (percentages of the agents
 * registered now), unless the group is paused. The waves of the first host admitted are kept
 * for the version, so hosts configured differently still agree on them.
 */
export async function admitHost(client: Etcd3, group: string, version: string, host: string, steps: readonly WaveStep[]): Promise<Admission> {
  return update<Admission>(client, group, version, host, true, async (read, now): Promise<StepResult<Admission>> => {
    if (read.host && read.record) {
      const record = shift(read.record, read.host.state, 'in-flight', now);
      return { write: { record, host: { ...read.host, state: 'in-flight', admittedAt: now } }, result: { admitted: true, place: read.host.place, record } };
    }
    const record = read.record ?? { version, waves: formatWaves(steps), admitted: 0, inFlight: 0, confirmed: 0, failed: 0, startedAt: now, updatedAt: now };
    const position = await positionOf(client, group, record, steps);
    if (!position.admits) return { result: { admitted: false, reason: 'wave', position, record } };
    const place = record.admitted + 1;
    const next = { ...record, admitted: place, inFlight: record.inFlight + 1, updatedAt: now };
    return { write: { record: next, host: { host, place, state: 'in-flight', admittedAt: now } }, result: { admitted: true, place, record: next } };
  });
}

/** Records how `host`'s update of `version` settled: confirmed, or failed (reverted). */
export async function settleHost(client: Etcd3, group: string, version: string, host: string, ok: boolean): Promise<void> {
  const state: RolloutHostState = ok ? 'confirmed' : 'failed';
  await update<undefined>(client, group, version, host, false, (read, now): StepResult<undefined> => {
    // Not admitted through a rollout record (etcd was down at admission): nothing to settle.
    if (!read.record || !read.host || read.host.state === state) return { result: undefined };
    const record = shift(read.record, read.host.state, state, now);
    return { write: { record, host: { ...read.host, state, settledAt: now } }, result: undefined };
  });
}

/**
 * The open wave of `record` (the waves stored with it, else `steps`), with percentages of the
 * agents registered now; a single wave needs no count.
 */
export async function positionOf(client: Etcd3, group: string, record: RolloutRecord, steps: readonly WaveStep[]): Promise<WavePosition> {
  const stored = parseWaves(record.waves);
  const waves = Array.isArray(stored) ? stored : steps;
  const registered = waves.length > 1 ? await client.getAll().prefix(agentsPrefix(group)).count() : 0;
  return wavePosition(waves, registered, record.admitted, record.confirmed);
}

/** The rollout record of `version`, or null when no host entered it yet. */
export async function readRollout(client: Etcd3, group: string, version: string): Promise<RolloutRecord | null> {
  const text = await client.get(rolloutKey(group, version)).string();
  return text === null ? null : parseJson<RolloutRecord>(text);
}

/** Moves one host from `from` to `to` in the counts. */
function shift(record: RolloutRecord, from: RolloutHostState, to: RolloutHostState, now: string): RolloutRecord {
  const count = { 'in-flight': 'inFlight', confirmed: 'confirmed', failed: 'failed' } as const;
  const next = { ...record, updatedAt: now };
  next[count[from]] = Math.max(0, next[count[from]] - 1);
  next[count[to]] += 1;
  return next;
}

/** What a step decided: the records to write (none: nothing to change), and what to return. */
interface StepResult<T> {
  write?: { record: RolloutRecord; host: RolloutHost };
  result: T;
}
type Paused = { admitted: false; reason: 'paused' };

/** Read, decide, write if nothing changed meanwhile; again on a race (a few hosts at most). */
async function update<T>(
  client: Etcd3,
  group: string,
  version: string,
  host: string,
  unlessPaused: boolean,
  step: (read: Read, now: string) => Promise<StepResult<T>> | StepResult<T>,
): Promise<T | Paused> {
  const recordKey = rolloutKey(group, version);
  const hostKey = rolloutHostKey(group, version, host);
  for (let attempt = 0; ; attempt++) {
    const [r, h, p] = await Promise.all([client.get(recordKey).exec(), client.get(hostKey).exec(), unlessPaused ? client.get(pausedKey(group)).exec() : null]);
    if (p && p.kvs.length > 0) return { admitted: false, reason: 'paused' };
    const read: Read = {
      record: r.kvs[0] ? parseJson<RolloutRecord>(r.kvs[0].value.toString()) : null,
      host: h.kvs[0] ? parseJson<RolloutHost>(h.kvs[0].value.toString()) : null,
      recordRevision: r.kvs[0]?.mod_revision ?? '0',
      hostRevision: h.kvs[0]?.mod_revision ?? '0',
    };
    const { write, result } = await step(read, new Date().toISOString());
    if (!write) return result;
    let txn = client.if(recordKey, 'Mod', '==', read.recordRevision).and(hostKey, 'Mod', '==', read.hostRevision);
    if (unlessPaused) txn = txn.and(pausedKey(group), 'Create', '==', 0);
    const done = await txn.then(client.put(recordKey).value(JSON.stringify(write.record)), client.put(hostKey).value(JSON.stringify(write.host))).commit();
    if (done.succeeded) return result;
    if (attempt >= 100) throw new Error(`the rollout record of ${version} kept changing under this host for 100 attempts`);
    // Hosts that lost the race spread out before reading again.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * Math.min(attempt + 1, 10)));
  }
}

/** Parses a JSON object record; null for anything else. */
export function parseJson<T>(text: string): T | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as T) : null;
  } catch {
    return null;
  }
}
