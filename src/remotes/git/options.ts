import type { VerifyConfig } from '../../config/types.js';
import { networkOptionsOf, type NetworkOptions } from '../options.js';
import { parseGitUrl, type GitLocation } from './url.js';

/** What a git remote is built with. */
export interface GitOptions extends NetworkOptions {
  /** Check out submodules recursively (default true). */
  gitSubmodules: boolean;
  /** Private SSH key used for this remote only. */
  gitSshKey?: string;
  /** Known-hosts file the SSH host key is checked against (with `gitSshKey`). */
  gitKnownHosts?: string;
  /** Signature checks: `gitAllowedSigners` and `gitVerify` are the ones git reads. */
  verify: VerifyConfig;
  /** Keep symlinks that lead outside the release (`allow-external-links`). */
  allowExternalLinks?: boolean;
}

/** A git remote, parsed from the config. */
export interface GitSpec {
  /** Always `git`. */
  kind: 'git';
  /** The URL as configured (it may hold credentials: never log it). */
  url: string;
  /** The URL without credentials, for logs, errors and `status`. */
  display: string;
  /** Repository, subdirectory and ref, parsed once. */
  location: GitLocation;
  /** This remote's settings. */
  options: GitOptions;
}

/** Parses `url` and picks the git settings; throws `Error` naming what is wrong when malformed. */
export function parseGitSpec(url: string, settings: GitOptions): GitSpec {
  const location = parseGitUrl(url);
  const options: GitOptions = { ...networkOptionsOf(settings), gitSubmodules: settings.gitSubmodules, verify: settings.verify };
  if (settings.gitSshKey) options.gitSshKey = settings.gitSshKey;
  if (settings.gitKnownHosts) options.gitKnownHosts = settings.gitKnownHosts;
  if (settings.allowExternalLinks) options.allowExternalLinks = true;
  return { kind: 'git', url, display: location.display, location, options };
}
