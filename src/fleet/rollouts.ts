import type { Etcd3 } from 'etcd3';
import { agentsPrefix, pausedKey, rolloutHostKey, rolloutHostsPrefix, rolloutKey, rolloutMarksPrefix } from './keys.js';
import type { RolloutHost, RolloutHostState, RolloutRecord } from './rollout-types.js';
import { formatWaves, parseWaves, wavePosition, type WavePosition, type WaveStep } from './waves.js';

/**
 * A version's rollout in etcd, with no key that every host rewrites (hundreds of hosts racing
 * for one key serialise on it): each host creates its own key when admitted, and etcd's create
 * revision of that key is its admission order. A host whose place lies beyond the open wave
 * deletes its key again and waits. Settling writes the host's own key and a marker under
 * `done/` or `failed/`; the counts are key counts etcd makes on the server.
 *
 * Why the wave limit holds: a host admitted keeps its key, so a host counting the keys created
 * up to its own revision counts every admitted host before it; if that place is within the
 * limit, at most `limit` hosts can have been admitted when it was (later hosts count it too).
 */

/** The per-version record: written once, by the first host admitted. */
export interface RolloutMeta {
  version: string;
  /** Waves in effect for the version: those of the first host admitted. */
  waves: string;
  /** ISO time of the first admission. */
  startedAt: string;
}

/** What `admitHost` decided. */
export type Admission =
  /** Admitted (or admitted before: a host keeps its place when it comes back). */
  | { admitted: true; first: boolean }
  /** The open wave is full; waits until its hosts confirm. */
  | { admitted: false; reason: 'wave'; position: WavePosition; record: RolloutRecord }
  /** The group is paused. */
  | { admitted: false; reason: 'paused' };

/**
 * Admits `host` to `version`'s rollout if its place lies within the open wave (percentages of
 * the agents registered now), unless the group is paused.
 */
export async function admitHost(client: Etcd3, group: string, version: string, host: string, steps: readonly WaveStep[]): Promise<Admission> {
  const key = rolloutHostKey(group, version, host);
  const now = new Date().toISOString();
  const record: RolloutHost = { host, place: 0, state: 'in-flight', admittedAt: now };
  const meta = rolloutKey(group, version);
  const created = await client
    .if(pausedKey(group), 'Create', '==', 0)
    .then(
      client.put(key).value(JSON.stringify(record)),
      client.delete().key(`${rolloutMarksPrefix(group, version, 'done')}${encodeURIComponent(host)}`),
      client.delete().key(`${rolloutMarksPrefix(group, version, 'failed')}${encodeURIComponent(host)}`),
    )
    .commit();
  if (!created.succeeded) return { admitted: false, reason: 'paused' };
  // The put keeps an existing key's create revision: a host coming back keeps its place.
  const mine = await client.get(key).exec();
  const revision = mine.kvs[0]?.create_revision;
  if (!revision) return admitHost(client, group, version, host, steps);
  const started = await client.if(meta, 'Create', '==', 0).then(client.put(meta).value(JSON.stringify({ version, waves: formatWaves(steps), startedAt: now }))).commit();
  const counts = await readRollout(client, group, version);
  if (!counts) return { admitted: true, first: started.succeeded };
  const position = await positionOf(client, group, counts, steps);
  if (Number.isFinite(position.limit)) {
    const place = (await client.getAll().prefix(rolloutHostsPrefix(group, version)).maxCreateRevision(revision).keys()).length;
    if (place > position.limit) {
      await client.if(key, 'Create', '==', revision).then(client.delete().key(key)).commit();
      return { admitted: false, reason: 'wave', position, record: { ...counts, admitted: counts.admitted - 1 } };
    }
  }
  return { admitted: true, first: started.succeeded };
}

/** Records how `host`'s update of `version` settled: confirmed, or failed (reverted). */
export async function settleHost(client: Etcd3, group: string, version: string, host: string, ok: boolean): Promise<void> {
  const key = rolloutHostKey(group, version, host);
  const text = await client.get(key).string();
  const record = text === null ? null : parseJson<RolloutHost>(text);
  // Not admitted through a rollout record (etcd was down at admission): nothing to settle.
  if (!record) return;
  const state: RolloutHostState = ok ? 'confirmed' : 'failed';
  const mark = `${rolloutMarksPrefix(group, version, ok ? 'done' : 'failed')}${encodeURIComponent(host)}`;
  await client.put(key).value(JSON.stringify({ ...record, state, settledAt: new Date().toISOString() }));
  await client.put(mark).value('');
}

/**
 * The open wave of a rollout (the waves stored with it, else `steps`), with percentages of the
 * agents registered now; a single wave needs no count.
 */
export async function positionOf(client: Etcd3, group: string, record: RolloutRecord, steps: readonly WaveStep[]): Promise<WavePosition> {
  const stored = parseWaves(record.waves);
  const waves = Array.isArray(stored) ? stored : steps;
  const registered = waves.length > 1 ? await client.getAll().prefix(agentsPrefix(group)).count() : 0;
  return wavePosition(waves, registered, record.admitted, record.confirmed);
}

/** The counts of `version`'s rollout, or null when no host entered it yet. */
export async function readRollout(client: Etcd3, group: string, version: string): Promise<RolloutRecord | null> {
  const [text, admitted, confirmed, failed] = await Promise.all([
    client.get(rolloutKey(group, version)).string(),
    client.getAll().prefix(rolloutHostsPrefix(group, version)).count(),
    client.getAll().prefix(rolloutMarksPrefix(group, version, 'done')).count(),
    client.getAll().prefix(rolloutMarksPrefix(group, version, 'failed')).count(),
  ]);
  const meta = text === null ? null : parseJson<RolloutMeta>(text);
  if (!meta) return null;
  return { ...meta, admitted, confirmed, failed, inFlight: Math.max(0, admitted - confirmed - failed) };
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
