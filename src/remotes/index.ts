import { withDiskErrors } from './disk-guard.js';
import { gitKind } from './git/git.js';
import { httpKind } from './http/http.js';
import { localKind } from './local/local.js';
import { s3Kind } from './s3/s3.js';
import type { Remote, RemoteConfig, RemoteKind } from './types.js';

export type { Remote, RemoteKind, RemoteConfig, RemoteContext, Observation, FetchResult } from './types.js';

/**
 * Every remote kind, asked in this order: the first whose `matches` accepts a URL builds it.
 * Git comes before HTTP so `https://host/org/app.git` is a repository, not a download.
 * Adding a kind is one new module and one line here.
 */
export const remoteKinds: readonly RemoteKind[] = [s3Kind, gitKind, httpKind, localKind];

/** Builds the remote for `url`; throws `Error` with a readable message for unknown or malformed URLs. */
export function createRemote(url: string, config: RemoteConfig): Remote {
  const kind = remoteKinds.find((k) => k.matches(url));
  if (!kind) {
    throw new Error('not a supported remote: use s3://bucket/key.zip, http(s)://…/app.zip, a git URL, or a local path');
  }
  return withDiskErrors(kind.create(url, config));
}
