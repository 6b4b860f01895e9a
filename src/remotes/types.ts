import type { Logger } from 'pino';
import type { AppConfig, Limits } from '../config/types.js';
import type { ReleaseFiles } from '../reuse/release-files.js';

/**
 * What every remote kind answers (DESIGN §4): *what version is there now* (cheap) and
 * *put version V into this directory*. One module per kind in `src/remotes/`, registered
 * in `index.ts`.
 */
export interface Remote {
  /** Kind name: `local`, `http`, `s3`, `git`. */
  readonly kind: string;
  /** The remote's URL with credentials removed: safe for logs, errors and `status`. */
  readonly display: string;
  /**
   * Asks the remote for its current version, as cheaply as it can (a conditional request,
   * one `ls-remote`). May leave a download in `ctx.cacheDir` for `fetch` to reuse.
   * Throws `RemoteError` when the remote cannot be reached or has nothing to deploy.
   */
  check(ctx: RemoteContext): Promise<Observation>;
  /**
   * Puts the content of `version` into `into` (an empty, existing directory). Never writes
   * outside it; on error, the caller removes `into`. Throws `RemoteError` for transport
   * problems and `VerificationError` for refused content (hostile archive, bad signature).
   */
  fetch(version: string, into: string, ctx: RemoteContext): Promise<FetchResult>;
  /**
   * Optional, for kinds that can tell the content id of a version without materialising it
   * (git: the tree id of the subdirectory). When it equals the current release's content id,
   * the pipeline records the version as seen and makes no release (the monorepo no-op).
   */
  contentIdOf?(version: string, ctx: RemoteContext): Promise<string>;
  /**
   * Optional, for archive kinds: the bytes of a file published beside the archive, at
   * `<remote><suffix>` (`.minisig`, `.sha256`). Throws `RemoteError` when it is missing.
   */
  fetchSidecar?(suffix: string, ctx: RemoteContext): Promise<Buffer>;
}

/** What a check saw. */
export interface Observation {
  /** Opaque version id; equal ids mean equal content. */
  version: string;
  /** Extra facts for `status` and logs, e.g. `{ etag }`, `{ commit, ref }`. No secrets. */
  detail?: Record<string, string>;
}

/** What a fetch produced. */
export interface FetchResult {
  /**
   * Digest of the deployed content (sha256 of the archive, git tree id). Two versions with the
   * same content id make no new release: the newer version is recorded as seen.
   */
  contentId: string;
  /** Bytes transferred from the remote by this fetch (0 when served from the cache). */
  bytesDownloaded: number;
  /** Files written into the release. */
  files: number;
  /** Extra facts for `status` and logs, e.g. a signature's trusted comment. No secrets. */
  detail?: Record<string, string>;
}

/** Everything a remote may use while checking or fetching. */
export interface RemoteContext {
  /** Directory private to this remote (keyed by its URL), kept across runs. */
  cacheDir: string;
  /** Logger already bound to the app. */
  logger: Logger;
  /** Aborted when the agent stops; remotes end their I/O promptly. */
  signal?: AbortSignal;
  /**
   * Set in long-lived processes (the daemon): a check that finds a changed body has a child
   * process download it (`checkInChild`), so the memory that costs goes back to the system.
   */
  isolate?: boolean;
  /**
   * Set by the pipeline for a fetch into a new release: the current release whose unchanged
   * files the writer may clone, and where to list the files it writes. Kinds that write no
   * list (a local directory) ignore it.
   */
  releaseFiles?: ReleaseFiles;
}

/** A remote kind: recognises its URLs and builds a `Remote` for one. */
export interface RemoteKind {
  readonly name: string;
  /** True when this kind handles `url`. Kinds are asked in registry order. */
  matches(url: string): boolean;
  /** Builds the remote; throws `ConfigError`-worthy messages as `Error` for malformed URLs. */
  create(url: string, config: RemoteConfig): Remote;
}

/** The part of an app's config a remote may read. */
export type RemoteConfig = Pick<
  AppConfig,
  | 'connectTimeoutMs'
  | 'readTimeoutMs'
  | 'limits'
  | 'awsAccessKey'
  | 'awsSecretKey'
  | 'awsRegion'
  | 's3Endpoint'
  | 'gitSubmodules'
  | 'gitSshKey'
  | 'gitKnownHosts'
  | 'verify'
  | 'archiveRoot'
> & { limits: Limits };
