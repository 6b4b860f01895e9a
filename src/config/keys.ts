import cron from 'node-cron';
import { parseEndpoints } from '../fleet/keys.js';
import { parseDuration } from '../util/duration.js';

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

const owner: KeySpec['parse'] = (raw) =>
  /^[a-z_][a-z0-9_.-]*\$?(:[a-z_][a-z0-9_.-]*)?$/i.test(raw.trim()) || /^\d+(:\d+)?$/.test(raw.trim())
    ? ok(raw.trim())
    : no('user or user:group (names or numeric ids)');

const listen: KeySpec['parse'] = (raw) => {
  const m = /^(?:(\[[0-9a-f:]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(raw.trim());
  return m && Number(m[2]) <= 65535 ? ok(m[1] ? raw.trim() : `127.0.0.1:${m[2]}`) : no('PORT or HOST:PORT, e.g. 127.0.0.1:9464');
};

const etcdEndpoints: KeySpec['parse'] = (raw) => {
  const parsed = parseEndpoints(raw);
  return Array.isArray(parsed) ? ok(parsed) : no(parsed.error);
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
];

/** Finds the spec for a key name or alias. */
export function findKey(name: string): KeySpec | undefined {
  return keySpecs.find((k) => k.name === name || k.aliases?.includes(name));
}

/** `REPO_DEPLOY_HOOK_TIMEOUT` for `hook-timeout`. */
export function envNameOf(key: string): string {
  return `REPO_DEPLOY_${key.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * The known key (or alias) an unknown `name` was most likely meant to be: within two edits
 * (a swap of neighbours counts as one), or the only key `name` is the start of; undefined when
 * nothing is that close, so a made-up key is not answered with a random one.
 */
export function nearestKey(name: string): string | undefined {
  const wanted = name.toLowerCase().replace(/_/g, '-');
  const names = keySpecs.flatMap((k) => [k.name, ...(k.aliases ?? [])]);
  const limit = Math.min(2, Math.floor(wanted.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const candidate of names) {
    const distance = editDistance(wanted, candidate);
    if (distance <= limit && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  if (best) return best.name;
  const extended = names.filter((n) => wanted.length >= 4 && n.startsWith(wanted));
  return extended.length === 1 ? extended[0] : undefined;
}

// Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps.
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
