import type { Logger } from 'pino';
import type { AppConfig, Limits } from '../config/types.js';
import type { GitSpec } from './git/options.js';
import type { HttpSpec } from './http/options.js';
import type { LocalSpec } from './local/options.js';
import type { S3Spec } from './s3/options.js';
import type { ReleaseFiles } from '../reuse/release-files.js';

/**
 * What every remote kind answers: *what version is there now* (cheap) and *put version V into
 * this directory*. One folder per kind in `src/remotes/`, registered in `index.ts`.
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
   * Optional, for kinds whose check downloads what changed: the same question as `check`,
   * answered without downloading. Undefined means a body is waiting, and `check` would
   * download it. Lets a caller choose where that download happens (see `isolated.ts`).
   */
  probe?(ctx: RemoteContext): Promise<Observation | undefined>;
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
   * Optional, with `contentIdOf`: what it resolved for `version` (git: the mirror checked, the
   * commit fetched and verified, its tree), handed over (and forgotten here) for a fetch of it
   * in another process, where `adoptResolved` takes it. Undefined when there is nothing.
   */
  handOverResolved?(version: string): unknown;
  /** Takes what `handOverResolved` gave in another process, for the next `fetch` of that version. */
  adoptResolved?(resolved: unknown): void;
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
   * A dry run: a check that finds a changed archive reads only the response's headers (the
   * version and size come from them) and stores nothing; `fetch` is not called after it.
   */
  peek?: boolean;
  /**
   * Set by the pipeline for a fetch into a new release: the current release whose unchanged
   * files the writer may clone, and where to list the files it writes. Kinds that write no
   * list (a local directory) ignore it.
   */
  releaseFiles?: ReleaseFiles;
}

/**
 * A configured remote, parsed once when the config is loaded: its kind, its URL taken apart,
 * and the settings of that kind only. Plain data, so it can be handed to a child process.
 */
export type RemoteSpec = HttpSpec | S3Spec | GitSpec | LocalSpec;

/** A remote kind: recognises its URLs, parses them into its spec, and builds a `Remote` from one. */
export interface RemoteKind<S extends RemoteSpec = RemoteSpec> {
  readonly name: S['kind'];
  /** True when this kind handles `url`. Kinds are asked in registry order. */
  matches(url: string): boolean;
  /** Parses `url` and picks this kind's options from `settings`; throws `Error` for a malformed URL. */
  parse(url: string, settings: RemoteConfig): S;
  /** Builds the remote a spec describes. */
  open(spec: S): Remote;
  /** `open(parse(url, settings))`, for callers holding a raw URL (tests, library users). */
  create(url: string, settings: RemoteConfig): Remote;
}

/** A kind from its parts: `create` is always `open(parse(url, settings))`. */
export function defineKind<S extends RemoteSpec, R extends Remote>(kind: {
  name: S['kind'];
  matches(url: string): boolean;
  parse(url: string, settings: RemoteConfig): S;
  open(spec: S): R;
}) {
  return { ...kind, create: (url: string, settings: RemoteConfig): R => kind.open(kind.parse(url, settings)) } satisfies RemoteKind<S>;
}

/**
 * The app settings remote specs are parsed from: every kind's options together. A kind keeps
 * only its own (see its `options.ts`); the rest never reaches it.
 */
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
  | 'allowExternalLinks'
> & { limits: Limits };
