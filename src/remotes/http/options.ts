import { redactUrl } from '../../util/redact.js';
import { archiveOptionsOf, networkOptionsOf, type ArchiveOptions, type NetworkOptions } from '../options.js';

/** What an HTTP(S) zip remote is built with: the archive settings and the network timeouts. */
export interface HttpOptions extends ArchiveOptions, NetworkOptions {}

/** An `http(s)://…/app.zip` remote, parsed from the config. */
export interface HttpSpec {
  /** Always `http` (https included). */
  kind: 'http';
  /** The URL as configured; it may carry a token or userinfo, so never log it. */
  url: string;
  /** The URL with credentials removed: safe for logs, errors and `status`. */
  display: string;
  /** This remote's settings. */
  options: HttpOptions;
}

/** Checks `url` and picks the HTTP settings; throws `Error` naming the (redacted) URL when malformed. */
export function parseHttpSpec(url: string, settings: HttpOptions): HttpSpec {
  try {
    new URL(url);
  } catch {
    throw new Error(`invalid URL: ${redactUrl(url)}`);
  }
  return { kind: 'http', url, display: redactUrl(url), options: { ...archiveOptionsOf(settings), ...networkOptionsOf(settings) } };
}
