import type { Etcd3 } from 'etcd3';
import { agentsPrefix, rolloutHostsPrefix, rolloutKey, rolloutMarksPrefix, rolloutsPrefix } from './keys.js';
import { parseJson, readRollout, type RolloutMeta } from './rollouts.js';
import type { PauseRecord, RolloutHost, RolloutRecord, RolloutStatus, WaitReason } from './rollout-types.js';
import type { AgentRecord, QuarantineRecord, SlotRecord } from './types.js';
import { parseWaves, wavePosition } from './waves.js';

/**
 * The per-version part of `fleet status`, and the pruning that keeps a group's records
 * bounded: rollouts of all but the newest versions, and agents silent for longer than the
 * retention (cron agents stay listed that long after their last run).
 */

/** Rollouts shown by `fleet status`, newest first. */
const shownRollouts = 5;
/** Rollouts kept in etcd; older ones are deleted by the first host admitted to a new version. */
const keptRollouts = 10;

/** What the group looks like apart from the rollouts, for judging why hosts wait. */
export interface GroupView {
  agents: readonly AgentRecord[];
  slots: readonly SlotRecord[];
  quarantined: readonly QuarantineRecord[];
  paused: PauseRecord | null;
  /** `max-parallel` of the host asking. */
  maxParallel: number;
}

/** The newest rollouts with their hosts, and why the hosts not yet admitted wait. */
export async function readRollouts(client: Etcd3, group: string, view: GroupView): Promise<RolloutStatus[]> {
  const metas = (await newestRollouts(client, group)).slice(0, shownRollouts);
  const counted = await Promise.all(metas.map((m) => readRollout(client, group, m.version)));
  const shown = counted.filter((r): r is RolloutRecord => r !== null);
  const hosts = await Promise.all(shown.map((r) => hostsOf(client, group, r.version)));
  return shown.map((record, i) => {
    const steps = parseWaves(record.waves);
    const position = wavePosition(Array.isArray(steps) ? steps : [{ percent: 100 }], view.agents.length, record.admitted, record.confirmed);
    const waiting = Math.max(0, view.agents.length - record.admitted);
    return {
      ...record,
      wave: position.wave + 1,
      waveCount: position.waves,
      waveLimit: Number.isFinite(position.limit) ? position.limit : null,
      waiting,
      waitReason: waitReason(record, view, position.admits, waiting),
      hosts: hosts[i]!,
    };
  });
}

/** The hosts admitted to `version`, by place: the order their keys were created in. */
async function hostsOf(client: Etcd3, group: string, version: string): Promise<RolloutHost[]> {
  const { kvs } = await client.getAll().prefix(rolloutHostsPrefix(group, version)).exec();
  return [...kvs]
    .sort((a, b) => Number(a.create_revision) - Number(b.create_revision))
    .map((kv) => parseJson<RolloutHost>(kv.value.toString()))
    .filter((h): h is RolloutHost => h !== null)
    .map((h, i) => ({ ...h, place: i + 1 }));
}

/** The first reason that holds, in the order an operator would act on them. */
function waitReason(record: RolloutRecord, view: GroupView, admits: boolean, waiting: number): WaitReason {
  if (view.quarantined.some((q) => q.version === record.version)) return 'quarantined';
  if (waiting === 0) return 'none';
  if (view.paused) return 'paused';
  if (!admits) return 'wave';
  if (view.slots.length >= view.maxParallel) return 'max-parallel';
  return 'next-check';
}

/** Rollout records (version, waves, start), newest first. */
async function newestRollouts(client: Etcd3, group: string): Promise<RolloutMeta[]> {
  const texts = await client.getAll().prefix(rolloutsPrefix(group)).strings();
  return Object.values(texts)
    .map((text) => parseJson<RolloutMeta>(text))
    .filter((r): r is RolloutMeta => r !== null && typeof r.version === 'string' && typeof r.startedAt === 'string')
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

/** Deletes the rollouts of all but the newest versions (record and host records). */
export async function pruneRollouts(client: Etcd3, group: string): Promise<void> {
  const old = (await newestRollouts(client, group)).slice(keptRollouts);
  for (const record of old) {
    await client.delete().prefix(rolloutHostsPrefix(group, record.version)).exec();
    await client.delete().prefix(rolloutMarksPrefix(group, record.version, 'done')).exec();
    await client.delete().prefix(rolloutMarksPrefix(group, record.version, 'failed')).exec();
    await client.delete().key(rolloutKey(group, record.version)).exec();
  }
}

/**
 * Deletes agent records not refreshed for `retentionMs` (hosts gone for good). Each delete
 * holds only if the record is still the one read, so an agent reporting meanwhile stays.
 */
export async function pruneAgents(client: Etcd3, group: string, retentionMs: number, now = Date.now()): Promise<number> {
  const response = await client.getAll().prefix(agentsPrefix(group)).exec();
  let pruned = 0;
  for (const kv of response.kvs) {
    const record = parseJson<AgentRecord>(kv.value.toString());
    const at = record ? Date.parse(record.updatedAt) : NaN;
    if (Number.isFinite(at) && now - at <= retentionMs) continue;
    const key = kv.key.toString();
    const result = await client.if(key, 'Mod', '==', kv.mod_revision).then(client.delete().key(key)).commit();
    if (result.succeeded) pruned++;
  }
  return pruned;
}
