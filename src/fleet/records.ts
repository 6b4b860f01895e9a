import type { Etcd3 } from 'etcd3';
import { readRollouts } from './group-status.js';
import { parseJson } from './rollouts.js';
import { agentsPrefix, badKey, badPrefix, pausedKey, slotsPrefix } from './keys.js';
import type { PauseRecord } from './rollout-types.js';
import type { AgentRecord, FleetStatus, QuarantineRecord, SlotRecord } from './types.js';

/**
 * Reading and writing the JSON records of a group. Values written by a newer or older agent
 * may lack fields; a value that is not JSON at all is skipped rather than failing `status`.
 */

/** The quarantine record of `version`, or null. */
export async function readQuarantine(client: Etcd3, group: string, version: string): Promise<QuarantineRecord | null> {
  const text = await client.get(badKey(group, version)).string();
  return text === null ? null : (parseJson<QuarantineRecord>(text) ?? { version, host: 'unknown', time: '', reason: 'unreadable record' });
}

/**
 * Writes `record` unless the version is already quarantined: the first revert's host and
 * reason are the useful ones. Returns the record in effect.
 */
export async function writeQuarantine(client: Etcd3, group: string, record: QuarantineRecord): Promise<QuarantineRecord> {
  const key = badKey(group, record.version);
  // No lease: a quarantine must outlive the host that wrote it, until an operator clears it.
  const result = await client
    .if(key, 'Create', '==', 0)
    .then(client.put(key).value(JSON.stringify(record)))
    .else(client.get(key))
    .commit();
  if (result.succeeded) return record;
  const existing = result.responses[0]?.response_range?.kvs[0]?.value.toString();
  return (existing && parseJson<QuarantineRecord>(existing)) || record;
}

/** Deletes the quarantine of `version`; false if there was none. */
export async function clearQuarantine(client: Etcd3, group: string, version: string): Promise<boolean> {
  const result = await client.delete().key(badKey(group, version)).exec();
  return Number(result.deleted) > 0;
}

/** The group's pause record, or null while it is not paused. */
export async function readPause(client: Etcd3, group: string): Promise<PauseRecord | null> {
  const text = await client.get(pausedKey(group)).string();
  return text === null ? null : (parseJson<PauseRecord>(text) ?? { by: 'unknown', time: '' });
}

/** Pauses the group unless it is paused already; returns the record in effect. */
export async function writePause(client: Etcd3, group: string, record: PauseRecord): Promise<PauseRecord> {
  const key = pausedKey(group);
  const result = await client.if(key, 'Create', '==', 0).then(client.put(key).value(JSON.stringify(record))).else(client.get(key)).commit();
  if (result.succeeded) return record;
  const existing = result.responses[0]?.response_range?.kvs[0]?.value.toString();
  return (existing && parseJson<PauseRecord>(existing)) || record;
}

/** Resumes the group; false if it was not paused. */
export async function deletePause(client: Etcd3, group: string): Promise<boolean> {
  const result = await client.delete().key(pausedKey(group)).exec();
  return Number(result.deleted) > 0;
}

/** Agents, quarantined versions, slots, pause and the newest rollouts of a group. */
export async function readStatus(client: Etcd3, group: string, maxParallel: number): Promise<FleetStatus> {
  const [agents, bad, slots, paused] = await Promise.all([
    client.getAll().prefix(agentsPrefix(group)).strings(),
    client.getAll().prefix(badPrefix(group)).strings(),
    client.getAll().prefix(slotsPrefix(group)).strings(),
    readPause(client, group),
  ]);
  const view = {
    agents: values<AgentRecord>(agents).sort((a, b) => a.id.localeCompare(b.id)),
    quarantined: values<QuarantineRecord>(bad).sort((a, b) => a.time.localeCompare(b.time)),
    slots: values<SlotRecord>(slots).sort((a, b) => a.index - b.index),
    paused,
  };
  return { ...view, rollouts: await readRollouts(client, group, { ...view, maxParallel }) };
}

function values<T>(entries: Record<string, string>): T[] {
  return Object.values(entries)
    .map((text) => parseJson<T>(text))
    .filter((value): value is T => value !== null);
}
