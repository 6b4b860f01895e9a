import type { AppConfig } from '../config/types.js';
import { sourceKeyOf, type ReleaseSource } from '../release/release-meta.js';
import type { Remote } from '../remotes/types.js';

/**
 * The source an app's releases are built from: the remote (kind, and its URL without
 * credentials, which names the subdirectory and ref) and the settings that change what a
 * release contains (`git-submodules`, `owner`, `archive-root`). Credentials and verification
 * settings are not part of it: they decide whether content is accepted, not what it is.
 */
export function sourceOf(app: AppConfig, remote: Pick<Remote, 'kind' | 'display'>): { source: ReleaseSource; sourceKey: string } {
  const settings: Record<string, string> = {};
  if (remote.kind === 'git') settings['git-submodules'] = String(app.gitSubmodules);
  if (app.owner) settings.owner = app.owner;
  if (app.archiveRoot) settings['archive-root'] = app.archiveRoot;
  const source = { kind: remote.kind, location: remote.display, settings };
  return { source, sourceKey: sourceKeyOf(source) };
}
