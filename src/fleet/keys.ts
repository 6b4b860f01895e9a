import { createHash } from 'node:crypto';

/**
 * The key layout of a rollout group in etcd, in one place so `etcdctl get --prefix` output can
 * be read against it:
 *
 *   /repo-deploy/<group>/slots/<n>        lease-bound JSON SlotRecord, n < max-parallel
 *   /repo-deploy/<group>/agents/<id>      lease-bound JSON AgentRecord
 *   /repo-deploy/<group>/bad/<sha256>     JSON QuarantineRecord, no lease: survives every host
 *   /repo-deploy/<group>/paused           JSON PauseRecord while `fleet pause` holds, no lease
 *   /repo-deploy/<group>/rollouts/<sha256>            JSON RolloutMeta: version, waves, start
 *   /repo-deploy/<group>/rollout-hosts/<sha256>/<id>  JSON RolloutHost; create revision = place
 *   /repo-deploy/<group>/rollout-done/<sha256>/<id>   empty: the host confirmed the version
 *   /repo-deploy/<group>/rollout-failed/<sha256>/<id> empty: the host reverted it
 *
 * Group and agent id are URI-encoded so a `/` in them cannot escape their prefix; versions are
 * hashed because they are arbitrary remote strings (ETags with quotes, long S3 version ids).
 */

/** Root of every key repo-deploy writes. */
export const keyRoot = '/repo-deploy/';

/** Prefix of a group's keys. */
export function groupPrefix(group: string): string {
  return `${keyRoot}${encodeURIComponent(group)}/`;
}

/** Prefix of a group's slot keys. */
export function slotsPrefix(group: string): string {
  return `${groupPrefix(group)}slots/`;
}

/** Key of slot `index`. */
export function slotKey(group: string, index: number): string {
  return `${slotsPrefix(group)}${index}`;
}

/** Prefix of a group's agent records. */
export function agentsPrefix(group: string): string {
  return `${groupPrefix(group)}agents/`;
}

/** Key of one agent's record. */
export function agentKey(group: string, id: string): string {
  return `${agentsPrefix(group)}${encodeURIComponent(id)}`;
}

/** Prefix of a group's quarantine records. */
export function badPrefix(group: string): string {
  return `${groupPrefix(group)}bad/`;
}

/** Key of the quarantine record of `version`. */
export function badKey(group: string, version: string): string {
  return `${badPrefix(group)}${versionHash(version)}`;
}

/** Key of the group's pause record. */
export function pausedKey(group: string): string {
  return `${groupPrefix(group)}paused`;
}

/** Prefix of the group's per-version rollout records (counts only, so listing them stays small). */
export function rolloutsPrefix(group: string): string {
  return `${groupPrefix(group)}rollouts/`;
}

/** Key of the rollout record of `version`. */
export function rolloutKey(group: string, version: string): string {
  return `${rolloutsPrefix(group)}${versionHash(version)}`;
}

/** Prefix of the host records of `version`'s rollout (or, without a version, of every rollout). */
export function rolloutHostsPrefix(group: string, version?: string): string {
  return `${groupPrefix(group)}rollout-hosts/${version === undefined ? '' : `${versionHash(version)}/`}`;
}

/** Prefix of the markers of hosts that confirmed `version` (`done`) or reverted it (`failed`). */
export function rolloutMarksPrefix(group: string, version: string, mark: 'done' | 'failed'): string {
  return `${groupPrefix(group)}rollout-${mark}/${versionHash(version)}/`;
}

/** Key of one host's record in `version`'s rollout. */
export function rolloutHostKey(group: string, version: string, id: string): string {
  return `${rolloutHostsPrefix(group, version)}${encodeURIComponent(id)}`;
}

function versionHash(version: string): string {
  return createHash('sha256').update(version).digest('hex');
}

/**
 * Parses the `etcd` config value: comma-separated `http://` or `https://` URLs. Returns the
 * list, or a message saying what is accepted (for the config validator).
 */
export function parseEndpoints(value: string): string[] | { error: string } {
  const endpoints = value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (endpoints.length === 0) return { error: 'expected one or more etcd URLs, e.g. http://127.0.0.1:2379' };
  for (const endpoint of endpoints) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      return { error: `${endpoint} is not a URL; expected http://HOST:PORT or https://HOST:PORT` };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return { error: `${endpoint}: expected an http:// or https:// URL` };
    }
    // Credentials belong in the auth settings, where they are never logged.
    if (url.username || url.password) return { error: `etcd URLs must not hold credentials; set the etcd user and password separately` };
  }
  return endpoints;
}
