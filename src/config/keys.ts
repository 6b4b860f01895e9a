import cron from 'node-cron';
import { parseEndpoints } from '../fleet/keys.js';
import { parseWaves } from '../fleet/waves.js';
import { parseDuration } from '../util/duration.js';
import { parseArchiveRoot } from '../extract/archive-root.js';
import { nearestName } from '../util/did-you-mean.js';
import { formatListen, parseListen } from './listen.js';
import { parseDeployWindow } from '../schedule/deploy-window.js';

/**
 * Every configuration key: its parser and what it accepts. The loader (`load.ts`) uses this
 * one table for the file, `REPO_DEPLOY_*` environment and flags, so a key behaves the same
 * wherever it is set.
 */

/** A parsed value, or what is accepted (used as the error message). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; accepted: string };

/** One key of the config file. */
export interface KeySpec {
  /** Canonical name, as written in the file. */
  name: string;
  /** Other names accepted for compatibility (`repository` for `remote`). */
  aliases?: string[];
  /** Parses a raw value; the result is stored under `name`. */
  parse(raw: string): Parsed<unknown>;
  /** Paths are resolved against the config file's directory. */
  path?: boolean;
  /** Only meaningful at the top level (not inside `[app NAME]`). */
  global?: boolean;
  /** Holds a secret: never echoed in messages. */
  secret?: boolean;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const no = (accepted: string): Parsed<never> => ({ ok: false, accepted });

const text: KeySpec['parse'] = (raw) => (raw.trim() ? ok(raw.trim()) : no('a non-empty value'));

const positiveInt = (min: number, max: number): KeySpec['parse'] => (raw) => {
  const n = Number(raw.trim());
  return Number.isInteger(n) && n >= min && n <= max ? ok(n) : no(`a whole number from ${min} to ${max}`);
};

const duration = (minMs: number): KeySpec['parse'] => (raw) => {
  const ms = parseDuration(raw);
  return ms !== null && ms >= minMs
    ? ok(ms)
    : no(`seconds or a duration such as 90s, 10m, 1h${minMs > 0 ? ` (at least ${minMs} ms)` : ''}`);
};

const waves: KeySpec['parse'] = (raw) => {
  const steps = parseWaves(raw);
  return Array.isArray(steps) ? ok(steps) : no(steps.error);
};

const boolean: KeySpec['parse'] = (raw) => {
  const v = raw.trim().toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(v)) return ok(true);
  if (['false', 'no', 'off', '0'].includes(v)) return ok(false);
  return no('true or false (also yes/no, on/off, 1/0)');
};

const sizeUnits: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const size: KeySpec['parse'] = (raw) => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(raw);
  return m ? ok(Math.round(Number(m[1]) * sizeUnits[m[2]!.toLowerCase()]!)) : no('a size in bytes, or with a unit such as 512M, 4G');
};

const schedule: KeySpec['parse'] = (raw) => {
  const expr = raw.trim().replace(/\s+/g, ' ');
  const fields = expr.split(' ').length;
  return (fields === 5 || fields === 6) && cron.validate(expr)
    ? ok(expr)
    : no('a cron expression with 5 fields (minute hour day month weekday) or 6 (seconds first), e.g. "* * * * *"');
};

const oneOf = (...values: string[]): KeySpec['parse'] => (raw) =>
  values.includes(raw.trim()) ? ok(raw.trim()) : no(values.join(' or '));

const url: KeySpec['parse'] = (raw) => {
  try {
    const u = new URL(raw.trim());
    return u.protocol === 'http:' || u.protocol === 'https:' ? ok(raw.trim()) : no('an http:// or https:// URL');
  } catch {
    return no('an http:// or https:// URL');
  }
};

/** `notify = URL[, URL…]`: http(s) receivers, separated by commas or spaces. */
const urlList: KeySpec['parse'] = (raw) => {
  const urls = raw.split(/[\s,]+/).filter(Boolean);
  return urls.length && urls.every((u) => url(u).ok) ? ok(urls) : no('one or more http:// or https:// URLs, separated by commas');
};

/** `shared = .env, storage/`: relative paths inside a release, no `..`; a trailing / is a directory. */
const sharedPaths: KeySpec['parse'] = (raw) => {
  const paths = raw.split(',').map((p) => p.trim()).filter(Boolean);
  const bad = (p: string) => p.startsWith('/') || p.split('/').some((part) => part === '..' || part === '.') || /\/\/./.test(p) || p === '/';
  return paths.length && !paths.some(bad) ? ok(paths) : no('relative paths inside the release, separated by commas (a trailing / marks a directory), without .. or a leading /');
};

const owner: KeySpec['parse'] = (raw) =>
  /^[a-z_][a-z0-9_.-]*\$?(:[a-z_][a-z0-9_.-]*)?$/i.test(raw.trim()) || /^\d+(:\d+)?$/.test(raw.trim())
    ? ok(raw.trim())
    : no('user or user:group (names or numeric ids)');

const listen: KeySpec['parse'] = (raw) => {
  const at = parseListen(raw);
  return at ? ok(formatListen(at)) : no('PORT or HOST:PORT, e.g. 127.0.0.1:9464');
};

const etcdEndpoints: KeySpec['parse'] = (raw) => {
  const parsed = parseEndpoints(raw);
  return Array.isArray(parsed) ? ok(parsed) : no(parsed.error);
};

const deployWindow: KeySpec['parse'] = (raw) => {
  const parsed = parseDeployWindow(raw);
  return 'error' in parsed ? no(parsed.error) : ok(parsed);
};

/** The keys, in the order the sample config documents them. */
export const keySpecs: readonly KeySpec[] = [
  { name: 'remote', aliases: ['repository'], parse: text },
  { name: 'local', parse: text, path: true },
  { name: 'directory', parse: text, path: true },
  { name: 'schedule', parse: schedule },
  { name: 'cache', parse: text, path: true, global: true },
  { name: 'id', parse: text, global: true },
  { name: 'pre-hooks', parse: text, path: true },
  { name: 'post-hooks', parse: text, path: true },
  { name: 'keep', parse: positiveInt(1, 1000) },
  { name: 'hook-timeout', parse: duration(1) },
  { name: 'hook-output-limit', parse: size },
  { name: 'connect-timeout', parse: duration(1) },
  { name: 'read-timeout', parse: duration(1) },
  { name: 'max-archive-size', parse: size },
  { name: 'max-unpacked-size', parse: size },
  { name: 'max-entries', parse: positiveInt(1, 100_000_000) },
  { name: 'splay', parse: duration(0) },
  { name: 'aws-access-key', parse: text, secret: true },
  { name: 'aws-secret-key', parse: text, secret: true },
  { name: 'aws-region', parse: text },
  { name: 's3-endpoint', parse: url },
  { name: 'git-submodules', parse: boolean },
  { name: 'git-ssh-key', parse: text, path: true },
  { name: 'git-known-hosts', parse: text, path: true },
  { name: 'minisign-key', parse: text },
  { name: 'minisign-key-file', parse: text, path: true },
  { name: 'verify-sha256', parse: boolean },
  { name: 'git-allowed-signers', parse: text, path: true },
  { name: 'git-verify', parse: oneOf('commit', 'tag') },
  { name: 'release-hooks', parse: boolean },
  { name: 'owner', parse: owner },
  { name: 'listen', parse: listen, global: true },
  { name: 'log-format', parse: oneOf('json', 'pretty'), global: true },
  { name: 'etcd', parse: etcdEndpoints },
  { name: 'etcd-user', parse: text },
  { name: 'etcd-password', parse: text, secret: true },
  { name: 'etcd-ca', parse: text, path: true },
  { name: 'etcd-cert', parse: text, path: true },
  { name: 'etcd-key', parse: text, path: true },
  { name: 'rollout-group', parse: text },
  { name: 'max-parallel', parse: positiveInt(1, 100_000) },
  { name: 'lease-ttl', parse: duration(2000) },
  { name: 'rollout-unavailable', parse: oneOf('wait', 'deploy') },
  { name: 'rollout-wait', parse: duration(0) },
  { name: 'rollout-waves', parse: waves },
  { name: 'archive-root', parse: parseArchiveRoot },
  { name: 'validate-hooks', parse: text, path: true },
  { name: 'validate-interval', parse: duration(1000) },
  { name: 'bake', parse: duration(0) },
  { name: 'rollback-on-quarantine', parse: boolean },
  { name: 'deploy-window', parse: deployWindow },
  // A webhook URL is a credential (Slack's and Mattermost's hold their secret in the path).
  { name: 'notify', parse: urlList, secret: true },
  { name: 'notify-secret', parse: text, secret: true },
  { name: 'shared', parse: sharedPaths },
  { name: 'allow-external-links', parse: boolean },
  { name: 'reuse-files', parse: boolean },
  { name: 'reuse-hardlinks', parse: boolean },
];

/** Finds the spec for a key name or alias. */
export function findKey(name: string): KeySpec | undefined {
  return keySpecs.find((k) => k.name === name || k.aliases?.includes(name));
}

/** `REPO_DEPLOY_HOOK_TIMEOUT` for `hook-timeout`. */
export function envNameOf(key: string): string {
  return `REPO_DEPLOY_${key.toUpperCase().replace(/-/g, '_')}`;
}

/** The known key (or alias) an unknown `name` was most likely meant to be, if any is close. */
export function nearestKey(name: string): string | undefined {
  return nearestName(name, keySpecs.flatMap((k) => [k.name, ...(k.aliases ?? [])]));
}
