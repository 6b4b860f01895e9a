import { withDiskErrors } from './disk-guard.js';
import { gitKind } from './git/git.js';
import { httpKind } from './http/http.js';
import { localKind } from './local/local.js';
import { s3Kind } from './s3/s3.js';
import type { Remote, RemoteConfig, RemoteKind, RemoteSpec } from './types.js';

export type { Remote, RemoteKind, RemoteConfig, RemoteContext, RemoteSpec, Observation, FetchResult } from './types.js';

/**
 * Every remote kind, asked in this order: the first whose `matches` accepts a URL parses it.
 * Git comes before HTTP so `https://host/org/app.git` is a repository, not a download.
 * Adding a kind is one new folder and one line here.
 */
export const remoteKinds: readonly RemoteKind[] = [s3Kind, gitKind, httpKind, localKind];

/**
 * Parses a configured remote into its spec: picks the kind, takes the URL apart and keeps that
 * kind's settings. Throws `Error` with a readable message for unknown or malformed URLs.
 */
export function parseRemote(url: string, settings: RemoteConfig): RemoteSpec {
  const kind = remoteKinds.find((k) => k.matches(url));
  if (!kind) {
    throw new Error('not a supported remote: use s3://bucket/key.zip, http(s)://…/app.zip, a git URL, or a local path');
  }
  return kind.parse(url, settings);
}

/** Builds the remote a spec describes (the spec was parsed by `parseRemote`). */
export function openRemote(spec: RemoteSpec): Remote {
  const kind = remoteKinds.find((k) => k.name === spec.kind)!;
  return withDiskErrors(kind.open(spec));
}

/** `openRemote(parseRemote(url, settings))`: for callers holding a raw URL (tests, library users). */
export function createRemote(url: string, settings: RemoteConfig): Remote {
  return openRemote(parseRemote(url, settings));
}
