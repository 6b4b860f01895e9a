import type { FleetConfig } from '../fleet/types.js';
import type { RemoteSpec } from '../remotes/types.js';
import type { DeployWindow } from '../schedule/deploy-window.js';

/**
 * The resolved configuration of one app, after flags, `REPO_DEPLOY_*` environment, the config
 * file and defaults have been merged and validated (see `load.ts`). Every module receives the
 * pieces it needs from here; nothing reads files or the environment on its own.
 */
export interface AppConfig {
  /** App name: `default` for the top-level app, NAME for an `[app NAME]` section. */
  name: string;
  /** Where the values came from, for messages (a file path, or `command line`). */
  source: string;
  /** Remote URL or local path, as configured (may hold credentials: never log it, use `display`). */
  remote: string;
  /** `remote` parsed once, when the config was loaded: its kind, its parts and that kind's settings. */
  remoteSpec: RemoteSpec;
  /** The symlink readers use, e.g. `/var/deploy/current`. */
  local: string;
  /** Directory holding `releases/` and the agent's state for this app: the parent of `local`. */
  deployDir: string;
  /** Cache for downloads and git mirrors. */
  cacheDir: string;
  /** Pre-update hook directory. */
  preHooks: string;
  /** Post-update hook directory. */
  postHooks: string;
  /** This agent's id (default: hostname), in logs, state and locks. */
  id: string;
  /** Cron expression, 5 or 6 fields. */
  schedule: string;
  /** Good releases kept (the current and previous one are always kept). */
  keep: number;
  /** Per-hook timeout in milliseconds. */
  hookTimeoutMs: number;
  /** Most output logged per hook run, in bytes (the rest is dropped and counted). */
  hookOutputLimitBytes: number;
  /** Network timeouts in milliseconds: connecting, and silence while reading. */
  connectTimeoutMs: number;
  readTimeoutMs: number;
  /** Bounds on what a remote may hand us. */
  limits: Limits;
  /** S3: static credentials from the config file (optional). */
  awsAccessKey?: string;
  awsSecretKey?: string;
  /** S3: region and custom endpoint (path-style addressing when an endpoint is set). */
  awsRegion?: string;
  s3Endpoint?: string;
  /** Git: check out submodules recursively (default true). */
  gitSubmodules: boolean;
  /** Git: private key used for this remote only, and the known-hosts file to check against. */
  gitSshKey?: string;
  gitKnownHosts?: string;
  /** Random delay in milliseconds added to each scheduled check (0 = none). */
  splayMs: number;
  /** Integrity checks on fetched content. */
  verify: VerifyConfig;
  /** Also run hooks shipped in the release (`.repo-deploy/pre-update.d`, …): trusted remotes only. */
  releaseHooks: boolean;
  /** `user[:group]` the staged release is given to before the pre-update hooks. */
  owner?: string;
  /** `host:port` of the health and metrics listener (top level only), off when unset. */
  listen?: string;
  /** `json` or `pretty` log lines (top level only); unset: pretty when standard error is a terminal. */
  logFormat?: 'json' | 'pretty';
  /** Zip remotes: deploy only this directory of the archive, or `auto` for its single top-level one. */
  archiveRoot?: string;
  /** `notify`: URLs POSTed a JSON event on deployed, blocked, reverted, failed, quarantined, rolled-back. */
  notify?: string[];
  /** `notify-secret`: key of the HMAC-SHA256 signature header of each notification. */
  notifySecret?: string;
  /** `shared`: release paths linked into `<deploy dir>/shared/` (a trailing / marks a directory). */
  shared?: string[];
  /** Keep symlinks of the release's content that point outside it (default: refuse them). */
  allowExternalLinks?: boolean;
  /** Clone the current release's unchanged files into a new release instead of writing them (default true). */
  reuseFiles: boolean;
  /** Hard link unchanged files instead of copying them (default false): releases then share those files. */
  reuseHardlinks: boolean;
  /** Rolling updates and quarantine through etcd; off when `etcd` is unset. */
  rollout?: RolloutConfig;
  /** Validation hook directory (`validate-hooks`): run after post-update hooks and while baking. */
  validateHooks: string;
  /** Time between validations while a release bakes, in milliseconds (`validate-interval`). */
  validateIntervalMs: number;
  /** How long a release bakes (keeps its rollout slot, validated) before it is confirmed; 0 = no bake. */
  bakeMs: number;
  /** Return to the previous good release when the fleet quarantines the current one's version. */
  rollbackOnQuarantine: boolean;
  /** When a new version may start (`deploy-window`); always when unset. */
  deployWindow?: DeployWindow;
}

/**
 * Fleet coordination settings of one app: what `Fleet.connect` takes (the agent id comes from
 * `id`), plus how long a run waits for a slot.
 */
export type RolloutConfig = Omit<FleetConfig, 'agentId' | 'requestTimeoutMs'> & {
  /** How long a run waits for a free slot before giving up (exit 75 for `-f`). */
  waitMs: number;
};

/** Limits that protect the host from a hostile or broken remote. */
export interface Limits {
  /** Largest archive accepted, in bytes. */
  maxArchiveBytes: number;
  /** Largest total unpacked size, in bytes. */
  maxUnpackedBytes: number;
  /** Most entries in one archive. */
  maxEntries: number;
}

/** What one hook run may log by default (`hook-output-limit`). */
export const defaultHookOutputLimitBytes = 4 * 1024 * 1024;

export const defaultLimits: Limits = {
  maxArchiveBytes: 4 * 1024 ** 3,
  maxUnpackedBytes: 16 * 1024 ** 3,
  maxEntries: 1_000_000,
};

/** Settings for verifying what a remote hands over (signatures, digests), resolved from the config. */
export interface VerifyConfig {
  /** minisign public key (the base64 line of a `.pub` file); signature at `<remote>.minisig`. */
  minisignKey?: string;
  /** Check the archive against `<remote>.sha256` (sha256sum format). */
  verifySha256: boolean;
  /** SSH allowed-signers file: the deployed commit must be signed by a listed key. */
  gitAllowedSigners?: string;
  /** `commit` (default, when allowed signers are set) or `tag`: the ref must be a signed tag. */
  gitVerify?: 'commit' | 'tag';
}
