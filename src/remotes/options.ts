import type { Limits, VerifyConfig } from '../config/types.js';

/**
 * Settings shared by the kinds that download a zip (http, s3, local zip files). Each kind's
 * own options type extends this one, so a kind is handed only what it uses.
 */
export interface ArchiveOptions {
  /** Bounds on the archive and on what it unpacks to (size, entries). */
  limits: Limits;
  /** Signature and digest checks on the archive (minisign key, `<url>.sha256`). */
  verify: VerifyConfig;
  /** Deploy only this directory of the archive, or `auto` for its single top-level one. */
  archiveRoot?: string;
  /** Keep symlinks that lead outside the release (`allow-external-links`). */
  allowExternalLinks?: boolean;
}

/** Network timeouts of the kinds that talk to a server. */
export interface NetworkOptions {
  /** Milliseconds allowed for a connection to open. */
  connectTimeoutMs: number;
  /** Milliseconds of silence allowed while reading an answer. */
  readTimeoutMs: number;
}

/** Picks the `ArchiveOptions` out of a larger settings object (never copies other keys). */
export function archiveOptionsOf(settings: ArchiveOptions): ArchiveOptions {
  return {
    limits: settings.limits,
    verify: settings.verify,
    ...(settings.archiveRoot ? { archiveRoot: settings.archiveRoot } : {}),
    ...(settings.allowExternalLinks ? { allowExternalLinks: true } : {}),
  };
}

/** Picks the `NetworkOptions` out of a larger settings object. */
export function networkOptionsOf(settings: NetworkOptions): NetworkOptions {
  return { connectTimeoutMs: settings.connectTimeoutMs, readTimeoutMs: settings.readTimeoutMs };
}
