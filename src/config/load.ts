import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, messageOf, type ConfigIssue } from '../errors.js';
import { holdsCredential, warnIfSecretsReadable } from '../verify/config-permissions.js';
import { parseMinisignKey } from '../verify/minisign.js';
import { createRemote } from '../remotes/index.js';
import { defaultHookOutputLimitBytes, defaultLimits, type AppConfig } from './types.js';
import { envNameOf, findKey, keySpecs, nearestKey, type KeySpec } from './keys.js';
import { readIni, type IniEntry } from './ini-reader.js';

/** Where the original keeps its files; defaults of DESIGN §2. */
export const defaultPaths = {
  config: '/etc/repo-deploy/repo-deploy.cfg',
  configDir: '/etc/repo-deploy',
  cache: '/var/cache/repo-deploy',
  directory: '/var/deploy',
} as const;

/** What `loadConfig` merges: flags > `REPO_DEPLOY_*` environment > file > defaults. */
export interface ConfigInputs {
  /** `-c FILE`; when absent the default file is read if it exists. */
  configFile?: string;
  /** Values given on the command line, by key name (`remote`, `local`, `cache`, …). */
  flags?: Record<string, string>;
  /** Environment to read `REPO_DEPLOY_*` from (default: none). */
  env?: Record<string, string | undefined>;
  /** Base for relative paths given on the command line or in the environment. */
  cwd?: string;
}

/** The validated configuration: one entry per app. */
export interface LoadedConfig {
  /** The config file read, if any. */
  file?: string;
  apps: AppConfig[];
  /** Problems that do not stop the agent (e.g. a secret readable by others). */
  warnings: string[];
}

/** A raw value and where it came from. */
interface RawValue {
  raw: string;
  source: string;
  /** Relative paths resolve against this directory. */
  base: string;
}
type RawLayer = Map<string, RawValue>;

const appName = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
/** Names an `[app NAME]` may not take, and why. */
const reservedAppNames = new Map([
  ['default', 'it names the app of the top-level keys'],
  ['current', "DIRECTORY/current is the default app's link"],
  ['releases', "DIRECTORY/releases holds the default app's releases"],
]);
/** Keys a named app never inherits from the top level: they identify the default app. */
const defaultAppOnly = new Set(['remote', 'local', 'pre-hooks', 'post-hooks']);

/**
 * Reads, merges and validates the configuration. Collects every problem before throwing one
 * `ConfigError` that lists them all (file, key, value, what is accepted).
 */
export function loadConfig(inputs: ConfigInputs = {}): LoadedConfig {
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  const cwd = inputs.cwd ?? process.cwd();
  const fileResult = readConfigFile(inputs.configFile, cwd, issues);
  const envLayer = layerFromEnv(inputs.env ?? {}, cwd);
  const flagLayer: RawLayer = new Map(
    Object.entries(inputs.flags ?? {}).map(([key, raw]) => [key, { raw, source: 'command line', base: cwd }]),
  );
  const topLayer = new Map([...fileResult.top, ...envLayer, ...flagLayer]);

  const apps: AppConfig[] = [];
  if (topLayer.has('remote')) apps.push(buildApp('default', topLayer, fileResult.dir, issues));
  for (const [name, section] of fileResult.apps) {
    const inherited = [...fileResult.top, ...envLayer].filter(([key]) => !defaultAppOnly.has(key));
    const globalFlags = [...flagLayer].filter(([key]) => findKey(key)?.global);
    apps.push(buildApp(name, new Map([...inherited, ...section, ...globalFlags]), fileResult.dir, issues));
  }
  if (apps.length === 0 && issues.length === 0) {
    issues.push({
      source: fileResult.path ?? 'command line',
      key: 'remote',
      message: `no remote configured: give REMOTE on the command line, or set remote = URL in ${fileResult.path ?? defaultPaths.config}`,
    });
  }
  checkDistinctDirs(apps, issues);
  if (issues.length) throw new ConfigError(inFileOrder(issues, fileResult.path));
  const warning = fileResult.path ? warnIfSecretsReadable(fileResult.path, fileResult.secretKeys.length > 0, fileResult.secretKeys) : undefined;
  if (warning) warnings.push(warning);
  return { ...(fileResult.path ? { file: fileResult.path } : {}), apps, warnings };
}

/** Issues of the file in the order of its lines (a stable sort), then the others. */
function inFileOrder(issues: ConfigIssue[], file: string | undefined): ConfigIssue[] {
  const line = (i: ConfigIssue) => (file && i.source.startsWith(`${file}:`) ? Number(i.source.slice(file.length + 1)) : Infinity);
  return [...issues].sort((a, b) => line(a) - line(b) || 0);
}

interface FileResult {
  path?: string;
  dir: string;
  top: RawLayer;
  apps: Map<string, RawLayer>;
  /** Keys of the file that hold a credential (secret keys, URLs with userinfo or tokens). */
  secretKeys: string[];
}

function readConfigFile(given: string | undefined, cwd: string, issues: ConfigIssue[]): FileResult {
  const path = resolve(cwd, given ?? defaultPaths.config);
  const empty: FileResult = { dir: defaultPaths.configDir, top: new Map(), apps: new Map(), secretKeys: [] };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A missing default file is fine (everything can come from flags); a missing file the
    // operator named is not.
    if (given === undefined && code === 'ENOENT') return empty;
    issues.push({ source: path, key: '-c', message: code === 'ENOENT' ? 'config file not found: check the path given with -c/--config' : `cannot read config file: ${(error as Error).message}` });
    return empty;
  }
  const result: FileResult = { path, dir: dirname(path), top: new Map(), apps: new Map(), secretKeys: [] };
  const doc = readIni(text);
  const fileIssues: ConfigIssue[] = [];
  // `file:line` as the source: every message about a value of the file points at its line.
  for (const problem of doc.problems) fileIssues.push({ source: `${path}:${problem.line}`, key: '', message: problem.message });
  for (const section of doc.sections) {
    if (section.name === null) {
      result.top = readKeys(section.entries, path, '', fileIssues, result);
      continue;
    }
    const source = `${path}:${section.line}`;
    const header = `[${section.name}]`;
    const match = /^app\s+(.*)$/.exec(section.name);
    if (!match) {
      fileIssues.push({ source, key: header, message: 'unknown section: sections are written [app NAME], NAME made of letters, digits, - and _' });
      continue;
    }
    const name = match[1]!;
    const problem = appNameProblem(name);
    if (problem) {
      fileIssues.push({ source, key: header, message: problem });
      continue;
    }
    if (result.apps.has(name)) {
      fileIssues.push({ source, key: header, message: `duplicate section: app ${name} is already configured above; merge the two sections into one` });
      continue;
    }
    result.apps.set(name, readKeys(section.entries, path, `[app ${name}] `, fileIssues, result));
  }
  issues.push(...fileIssues);
  return result;
}

/**
 * Why `name` cannot name an app, or null. An app's name becomes a directory next to the
 * default app's (`DIRECTORY/NAME/current`, `CONFIGDIR/NAME/pre-update.d`), so names that
 * could leave that directory or land on the default app's own entries are refused.
 */
function appNameProblem(name: string): string | null {
  if (!appName.test(name)) {
    return `invalid app name ${JSON.stringify(name)}: use letters, digits, - and _, starting with a letter or digit (the name becomes a directory name)`;
  }
  if (reservedAppNames.has(name.toLowerCase())) {
    return `app name ${JSON.stringify(name)} is reserved (${reservedAppNames.get(name.toLowerCase())}): choose another name`;
  }
  return null;
}

function readKeys(entries: readonly IniEntry[], path: string, prefix: string, issues: ConfigIssue[], file: FileResult): RawLayer {
  const layer: RawLayer = new Map();
  const first = new Map<string, IniEntry>();
  for (const entry of entries) {
    const { key, value, line } = entry;
    const source = `${path}:${line}`;
    const spec = findKey(key);
    const name = spec?.name ?? key;
    const earlier = first.get(name);
    if (earlier) {
      const alias = earlier.key !== key ? ` (as ${earlier.key}, another name for ${name})` : '';
      issues.push({ source, key: `${prefix}${key}`, message: `duplicate key: already set on line ${earlier.line}${alias}; keep only one` });
      continue;
    }
    first.set(name, entry);
    if (!spec) {
      issues.push({ source, key: `${prefix}${key}`, message: unknownKeyMessage(key) });
      continue;
    }
    if (prefix && spec.global) {
      issues.push({ source, key: `${prefix}${key}`, message: 'can only be set at the top level, for all apps' });
      continue;
    }
    if (spec.secret || holdsCredential(value)) file.secretKeys.push(`${prefix}${spec.name}`);
    layer.set(spec.name, { raw: value, source, base: dirname(path) });
  }
  return layer;
}

function unknownKeyMessage(key: string): string {
  const near = nearestKey(key);
  return near
    ? `unknown key; did you mean \`${near}\`?`
    : 'unknown key: not a repo-deploy setting (the sample repo-deploy.cfg lists every key with its default)';
}

function layerFromEnv(env: Record<string, string | undefined>, cwd: string): RawLayer {
  const layer: RawLayer = new Map();
  for (const spec of keySpecs) {
    const value = env[envNameOf(spec.name)];
    if (value !== undefined && value !== '') layer.set(spec.name, { raw: value, source: `environment ${envNameOf(spec.name)}`, base: cwd });
  }
  return layer;
}

/** Parses every raw value of one app, recording issues, and fills in defaults. */
function buildApp(name: string, layer: RawLayer, configDir: string, issues: ConfigIssue[]): AppConfig {
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
  const get = <T>(key: string, fallback: T): T => (values.has(key) ? (values.get(key) as T) : fallback);
  const sourceOf = (key: string) => layer.get(key)?.source ?? 'defaults';
  const directory = get('directory', defaultPaths.directory);
  const local = get('local', name === 'default' ? join(directory, 'current') : join(directory, name, 'current'));
  const hooksBase = name === 'default' ? defaultPaths.configDir : join(configDir, name);
  const app: AppConfig = {
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
    awsAccessKey: get<string | undefined>('aws-access-key', undefined),
    awsSecretKey: get<string | undefined>('aws-secret-key', undefined),
    awsRegion: get<string | undefined>('aws-region', undefined),
    s3Endpoint: get<string | undefined>('s3-endpoint', undefined),
    gitSubmodules: get('git-submodules', true),
    gitSshKey: get<string | undefined>('git-ssh-key', undefined),
    gitKnownHosts: get<string | undefined>('git-known-hosts', undefined),
    splayMs: get('splay', 0),
    verify: {
      minisignKey: get<string | undefined>('minisign-key', undefined),
      verifySha256: get('verify-sha256', false),
      gitAllowedSigners: get<string | undefined>('git-allowed-signers', undefined),
      gitVerify: get<'commit' | 'tag' | undefined>('git-verify', undefined),
    },
    releaseHooks: get('release-hooks', false),
    owner: get<string | undefined>('owner', undefined),
    listen: get<string | undefined>('listen', undefined),
    archiveRoot: get<string | undefined>('archive-root', undefined),
    reuseFiles: get('reuse-files', true),
    reuseHardlinks: get('reuse-hardlinks', false),
  };
  if (values.has('etcd')) {
    const user = get<string | undefined>('etcd-user', undefined);
    const password = get<string | undefined>('etcd-password', undefined);
    const tls = { ca: get<string | undefined>('etcd-ca', undefined), cert: get<string | undefined>('etcd-cert', undefined), key: get<string | undefined>('etcd-key', undefined) };
    app.rollout = {
      endpoints: get<string[]>('etcd', []),
      ...(user && password ? { auth: { username: user, password } } : {}),
      ...(tls.ca || tls.cert || tls.key ? { tls: Object.fromEntries(Object.entries(tls).filter(([, v]) => v)) } : {}),
      group: get('rollout-group', name),
      maxParallel: get('max-parallel', 1),
      leaseTtlMs: get('lease-ttl', 15_000),
      unavailable: get<'wait' | 'deploy'>('rollout-unavailable', 'wait'),
      waitMs: get('rollout-wait', 600_000),
    };
  }
  checkApp(app, layer, label, sourceOf, issues);
  return app;
}

/** Rules that span keys or touch the filesystem (without changing anything). */
function checkApp(app: AppConfig, layer: RawLayer, label: string, sourceOf: (k: string) => string, issues: ConfigIssue[]): void {
  const issue = (key: string, message: string, secret = false) =>
    issues.push({ source: sourceOf(key), key: `${label}${key}`, ...(secret || !layer.has(key) || holdsCredential(layer.get(key)!.raw) ? {} : { value: layer.get(key)!.raw }), message });
  if (!app.remote) {
    issue('remote', 'required: the URL or path to deploy from');
  } else {
    try {
      createRemote(app.remote, app);
    } catch (error) {
      // The remote's own message; the value itself may hold credentials, so it is not echoed.
      issues.push({ source: sourceOf('remote'), key: `${label}remote`, message: (error as Error).message });
    }
  }
  if (Boolean(app.awsAccessKey) !== Boolean(app.awsSecretKey)) {
    issue(app.awsAccessKey ? 'aws-secret-key' : 'aws-access-key', 'aws-access-key and aws-secret-key must be set together', true);
  }
  for (const key of ['pre-hooks', 'post-hooks'] as const) {
    // A default hook directory may be absent (no hooks); one the operator named must exist,
    // or a typo would silently skip every hook.
    if (layer.has(key) && !isDirectory(key === 'pre-hooks' ? app.preHooks : app.postHooks)) {
      issue(key, 'hook directory does not exist: create it, or remove the setting to use the default');
    }
  }
  for (const key of ['git-ssh-key', 'git-known-hosts', 'git-allowed-signers'] as const) {
    const path = layer.has(key) ? resolve(layer.get(key)!.base, layer.get(key)!.raw) : undefined;
    if (path && !isFile(path)) issue(key, 'file not found: give the path of an existing file');
  }
  if (layer.has('minisign-key-file')) {
    const raw = layer.get('minisign-key-file')!;
    try {
      // The whole .pub file is a valid key text for the verifier (it skips the comment line).
      app.verify.minisignKey = readFileSync(resolve(raw.base, raw.raw), 'utf8');
    } catch (error) {
      issue('minisign-key-file', `cannot read the minisign public key file: ${(error as NodeJS.ErrnoException).code ?? messageOf(error)}`);
    }
  }
  if (app.verify.minisignKey) {
    // Parsed exactly as the verifier will, so a bad key fails here rather than at the first deploy.
    try {
      parseMinisignKey(app.verify.minisignKey);
    } catch (error) {
      issue(layer.has('minisign-key-file') ? 'minisign-key-file' : 'minisign-key', messageOf(error));
    }
  }
  if (Boolean(layer.get('etcd-user')) !== Boolean(layer.get('etcd-password'))) {
    issue(layer.has('etcd-user') ? 'etcd-password' : 'etcd-user', 'etcd-user and etcd-password must be set together', true);
  }
  for (const key of ['etcd-ca', 'etcd-cert', 'etcd-key'] as const) {
    const raw = layer.get(key);
    if (raw && !isFile(resolve(raw.base, raw.raw))) issue(key, 'file not found: give the path of an existing PEM file');
  }
  if (app.owner && !ownerExists(app.owner)) {
    issue('owner', 'no such user or group on this host: create it, or give an existing user[:group]');
  }
  if (app.verify.gitVerify && !app.verify.gitAllowedSigners) {
    issue('git-verify', 'needs git-allowed-signers = FILE naming the keys whose signatures are trusted');
  }
}

function checkDistinctDirs(apps: AppConfig[], issues: ConfigIssue[]): void {
  const seen = new Map<string, string>();
  for (const app of apps) {
    const other = seen.get(app.deployDir);
    if (other) {
      issues.push({ source: app.source, key: `[app ${app.name}] local`, value: app.local, message: `shares its directory with app ${other}: each app needs its own directory for releases and state` });
    }
    seen.set(app.deployDir, app.name);
  }
}

/** A relative local path (not a URL, not scp-like `user@host:path`): resolved like other paths. */
function looksLikeLocalPath(value: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !/^[^/]*@[^/]+:/.test(value) && !value.startsWith('/');
}

function ownerExists(owner: string): boolean {
  const [user, group] = owner.split(':');
  const known = (db: string, name: string) =>
    /^\d+$/.test(name) || spawnSync('getent', [db, name], { stdio: 'ignore' }).status === 0;
  return known('passwd', user!) && (group === undefined || known('group', group));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Keys whose values are secrets; re-exported for log redaction. */
export const secretKeys: readonly KeySpec[] = keySpecs.filter((k) => k.secret);
