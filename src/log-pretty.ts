import { createRequire } from 'node:module';
import type { DestinationStream } from 'pino';
import type PinoPretty from 'pino-pretty';

/**
 * Log lines for people: `[15:04:05] INFO: web 1a2b3c4d5e6f deployed release=… ms=120`, through
 * pino-pretty. Loaded only when chosen (`log-format = pretty`, or standard error is a
 * terminal), so the JSON agent under systemd never pays for pino-pretty and its dependencies.
 */

/** Keys shown in the line's head (app, version) or left out (pino's own), not as key=value. */
const headKeys = new Set(['app', 'version', 'level', 'time', 'msg', 'pid', 'hostname', 'name']);

/** A version cut to 24 characters for a table cell or a log line. */
export function shorten(version: string): string {
  return version.length > 24 ? `${version.slice(0, 23)}…` : version;
}

/** A version short enough to read: a commit, digest (`tree-…`) or ETag to 12 hex digits, long others cut. */
export function shortVersion(version: string): string {
  const digest = /^"?([a-z0-9]+[-:])?([0-9a-f]{16,})"?$/i.exec(version);
  if (digest) return `${digest[1] ?? ''}${digest[2]!.slice(0, 12)}`;
  return shorten(version);
}

/** One value of `key=value`: strings bare unless they hold spaces, the rest as JSON. */
function valueText(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]*$/.test(value) && value !== '' ? value : JSON.stringify(value);
  if (value instanceof Object && 'message' in value && typeof value.message === 'string') return JSON.stringify(value.message);
  return JSON.stringify(value) ?? String(value);
}

/** The part after the level: app, short version, message, then every other field as key=value. */
export function formatMessage(log: Record<string, unknown>): string {
  const parts: string[] = [];
  if (typeof log.app === 'string') parts.push(log.app);
  if (typeof log.version === 'string') parts.push(shortVersion(log.version));
  parts.push(typeof log.msg === 'string' ? log.msg : '');
  for (const [key, value] of Object.entries(log)) {
    if (!headKeys.has(key) && value !== undefined) parts.push(`${key}=${valueText(value)}`);
  }
  return parts.join(' ');
}

/** Options for `prettyDestination`. */
export interface PrettyOptions {
  /** Colour the level (a terminal that is not asked for NO_COLOR). */
  colorize: boolean;
  /** File descriptor written to; default 2 (standard error). */
  fd?: number;
}

/**
 * A synchronous pino destination writing the readable form. Synchronous as the JSON one is:
 * `main` exits right after the last line, which must not be lost in a buffer.
 */
export function prettyDestination(options: PrettyOptions): DestinationStream {
  // pino-pretty is CommonJS: required here, at the first pretty logger, never at start-up.
  const require = createRequire(import.meta.url);
  const pretty = require('pino-pretty') as typeof PinoPretty;
  return pretty({
    destination: options.fd ?? 2,
    sync: true,
    colorize: options.colorize,
    translateTime: 'SYS:HH:MM:ss',
    // Filtered before messageFormat sees the line: only what the head never shows.
    ignore: 'pid,hostname,name',
    hideObject: true,
    messageFormat: (log) => formatMessage(log),
  });
}
