import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { ConfigIssue } from '../errors.js';
import { messageOf } from '../errors.js';
import { holdsCredential } from '../verify/config-permissions.js';
import { parseRemote } from '../remotes/index.js';
import { findKey } from './keys.js';
import { defaultPaths } from './paths.js';
import type { RawLayer } from './raw-layers.js';
import { defaultHookOutputLimitBytes, defaultLimits, type AppConfig, type RolloutConfig } from './types.js';
import type { WaveStep } from '../fleet/waves.js';
import type { DeployWindow } from '../schedule/deploy-window.js';

/**
 * An app's configuration before the rules ran: every value parsed, defaults filled in. Values
 * read from elsewhere (the remote URL taken apart, a key file) may have failed: `unread` says
 * why, by key, and the rules report it.
 */
export interface AppDraft extends Omit<AppConfig, 'remoteSpec'> {
  /** Absent when `remote` is missing or malformed (see `unread`). */
  remoteSpec?: AppConfig['remoteSpec'];
  /** Why the value of a key could not be read or taken apart, by key. */
  unread: Map<string, string>;
}

/** Reads a parsed value, or the default. */
type Getter = <T>(key: string, fallback: T) => T;

/** Parses every raw value of one app, recording issues, and fills in defaults. */
export function buildApp(name: string, layer: RawLayer, configDir: string, issues: ConfigIssue[]): AppDraft {
  const values = parseValues(name, layer, issues);
  const get: Getter = <T>(key: string, fallback: T): T => (values.has(key) ? (values.get(key) as T) : fallback);
  const app = appFrom(name, layer, configDir, get);
  if (values.has('etcd')) app.rollout = rolloutFrom(name, get);
  readElsewhere(app, layer);
  return app;
}

/** Each raw value through its key's parser; a failure is an issue naming the key and what is accepted. */
function parseValues(name: string, layer: RawLayer, issues: ConfigIssue[]): Map<string, unknown> {
  const label = name === 'default' ? '' : `[app ${name}] `;
  const values = new Map<string, unknown>();
  for (const [key, raw] of layer) {
    const spec = findKey(key)!;
    const parsed = spec.parse(raw.raw);
    if (!parsed.ok) {
      issues.push({ source: raw.source, key: `${label}${key}`, ...(spec.secret || holdsCredential(raw.raw) ? {} : { value: raw.raw }), message: `expected ${parsed.accepted}` });
    } else {
      const isPath = spec.path || (key === 'remote' && looksLikeLocalPath(parsed.value as string));
      values.set(key, isPath ? resolve(raw.base, parsed.value as string) : parsed.value);
    }
  }
  return values;
}

/** The app's settings from its parsed values and the defaults. */
function appFrom(name: string, layer: RawLayer, configDir: string, get: Getter): AppDraft {
  const directory = get('directory', defaultPaths.directory);
  const local = get('local', name === 'default' ? join(directory, 'current') : join(directory, name, 'current'));
  const hooksBase = name === 'default' ? defaultPaths.configDir : join(configDir, name);
  const optional = <T>(key: string) => get<T | undefined>(key, undefined);
  return {
    name,
    source: layer.get('remote')?.source ?? 'defaults',
    remote: get('remote', ''),
    local,
    deployDir: dirname(local),
    cacheDir: get('cache', defaultPaths.cache),
    preHooks: get('pre-hooks', join(hooksBase, 'pre-update.d')),
    postHooks: get('post-hooks', join(hooksBase, 'post-update.d')),
    id: get('id', hostname()),
    schedule: get('schedule', '* * * * *'),
    keep: get('keep', 5),
    hookTimeoutMs: get('hook-timeout', 600_000),
    hookOutputLimitBytes: get('hook-output-limit', defaultHookOutputLimitBytes),
    connectTimeoutMs: get('connect-timeout', 10_000),
    readTimeoutMs: get('read-timeout', 60_000),
    limits: {
      maxArchiveBytes: get('max-archive-size', defaultLimits.maxArchiveBytes),
      maxUnpackedBytes: get('max-unpacked-size', defaultLimits.maxUnpackedBytes),
      maxEntries: get('max-entries', defaultLimits.maxEntries),
    },
    awsAccessKey: optional('aws-access-key'),
    awsSecretKey: optional('aws-secret-key'),
    awsRegion: optional('aws-region'),
    s3Endpoint: optional('s3-endpoint'),
    gitSubmodules: get('git-submodules', true),
    gitSshKey: optional('git-ssh-key'),
    gitKnownHosts: optional('git-known-hosts'),
    splayMs: get('splay', 0),
    verify: {
      minisignKey: optional('minisign-key'),
      verifySha256: get('verify-sha256', false),
      gitAllowedSigners: optional('git-allowed-signers'),
      gitVerify: optional<'commit' | 'tag'>('git-verify'),
    },
    releaseHooks: get('release-hooks', false),
    owner: optional('owner'),
    listen: optional('listen'),
    logFormat: optional<'json' | 'pretty'>('log-format'),
    archiveRoot: optional('archive-root'),
    validateHooks: get('validate-hooks', join(hooksBase, 'validate.d')),
    validateIntervalMs: get('validate-interval', 30_000),
    bakeMs: get('bake', 0),
    rollbackOnQuarantine: get('rollback-on-quarantine', true),
    deployWindow: optional<DeployWindow>('deploy-window'),
    notify: optional<string[]>('notify'),
    notifySecret: optional('notify-secret'),
    shared: optional<string[]>('shared'),
    allowExternalLinks: get('allow-external-links', false),
    reuseFiles: get('reuse-files', true),
    reuseHardlinks: get('reuse-hardlinks', false),
    unread: new Map(),
  };
}

/** Fleet coordination settings, for an app with `etcd` set. */
function rolloutFrom(name: string, get: Getter): RolloutConfig {
  const optional = (key: string) => get<string | undefined>(key, undefined);
  const user = optional('etcd-user');
  const password = optional('etcd-password');
  const tls = { ca: optional('etcd-ca'), cert: optional('etcd-cert'), key: optional('etcd-key') };
  const waves = get<WaveStep[] | undefined>('rollout-waves', undefined);
  return {
    endpoints: get<string[]>('etcd', []),
    ...(user && password ? { auth: { username: user, password } } : {}),
    ...(tls.ca || tls.cert || tls.key ? { tls: Object.fromEntries(Object.entries(tls).filter(([, v]) => v)) } : {}),
    group: get('rollout-group', name),
    maxParallel: get('max-parallel', 1),
    leaseTtlMs: get('lease-ttl', 15_000),
    unavailable: get<'wait' | 'deploy'>('rollout-unavailable', 'wait'),
    waitMs: get('rollout-wait', 600_000),
    ...(waves ? { waves } : {}),
  };
}

/**
 * Values that are read from elsewhere once, here: the remote URL taken apart into its spec
 * (the only place it is parsed), and the minisign public key file.
 */
function readElsewhere(app: AppDraft, layer: RawLayer): void {
  const keyFile = layer.get('minisign-key-file');
  if (keyFile) {
    try {
      // The whole .pub file is a valid key text: the verifier skips its `untrusted comment:` line.
      app.verify.minisignKey = readFileSync(resolve(keyFile.base, keyFile.raw), 'utf8');
    } catch (error) {
      app.unread.set('minisign-key-file', `cannot read the minisign public key file: ${(error as NodeJS.ErrnoException).code ?? messageOf(error)}`);
    }
  }
  if (app.remote) {
    try {
      app.remoteSpec = parseRemote(app.remote, app);
    } catch (error) {
      app.unread.set('remote', (error as Error).message);
    }
  }
}

/** A relative local path (not a URL, not scp-like `user@host:path`): resolved like other paths. */
function looksLikeLocalPath(value: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !/^[^/]*@[^/]+:/.test(value) && !value.startsWith('/');
}
