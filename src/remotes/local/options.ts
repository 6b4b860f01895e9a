import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { archiveOptionsOf, type ArchiveOptions } from '../options.js';

/** What a local directory or zip remote is built with: the archive settings (limits apply to directories too). */
export interface LocalOptions extends ArchiveOptions {}

/** A local directory or `.zip` on this host, parsed from the config. */
export interface LocalSpec {
  /** Always `local`. */
  kind: 'local';
  /** The URL or path as configured. */
  url: string;
  /** The absolute path (also what logs and `status` show). */
  display: string;
  /** The absolute path of the directory or zip. */
  path: string;
  /** This remote's settings. */
  options: LocalOptions;
}

/** Resolves `url` (`file:///path` or a path) and picks the local settings. */
export function parseLocalSpec(url: string, settings: LocalOptions): LocalSpec {
  const path = url.startsWith('file://') ? fileURLToPath(url) : resolve(url);
  return { kind: 'local', url, display: path, path, options: archiveOptionsOf(settings) };
}
