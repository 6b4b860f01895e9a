import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConfigIssue } from '../errors.js';
import { messageOf } from '../errors.js';
import { holdsCredential } from '../verify/config-permissions.js';
import { parseMinisignKey } from '../verify/minisign.js';
import type { AppDraft } from './build-app.js';
import type { RawLayer } from './raw-layers.js';

/**
 * The checks of one app's configuration that span keys or look at the host (without changing
 * anything). Each rule is a named function that returns every problem it finds, so one run of
 * the loader reports them all; `loadConfig` runs them in this order.
 */

/** What a rule looks at: the app's parsed values, and the raw values as given (with where). */
export interface RuleInput {
  app: AppDraft;
  layer: RawLayer;
}

/** One problem a rule found. */
export interface RuleProblem {
  /** The key the operator should change. */
  key: string;
  /** What is wrong and what to do. */
  message: string;
  /** True when the key's value must not be echoed (it is, or goes with, a secret). */
  secret?: boolean;
}

/** A named check. */
export type Rule = (input: RuleInput) => RuleProblem[];

/** `remote` is given, and is a URL or path some remote kind can take apart. */
export function remoteIsValid({ app }: RuleInput): RuleProblem[] {
  if (!app.remote) return [{ key: 'remote', message: 'required: the URL or path to deploy from' }];
  const why = app.unread.get('remote');
  // The remote's own message; the value itself may hold credentials, so it is not echoed.
  return why ? [{ key: 'remote', message: why, secret: true }] : [];
}

/** Static S3 credentials come as a pair. */
export function awsKeysTogether({ app }: RuleInput): RuleProblem[] {
  if (Boolean(app.awsAccessKey) === Boolean(app.awsSecretKey)) return [];
  return [{ key: app.awsAccessKey ? 'aws-secret-key' : 'aws-access-key', message: 'aws-access-key and aws-secret-key must be set together', secret: true }];
}

/**
 * A hook directory the operator named exists. A default one may be absent (no hooks), but a
 * typo in a named one would silently skip every hook.
 */
export function hookDirsExist({ app, layer }: RuleInput): RuleProblem[] {
  const dirs = { 'pre-hooks': app.preHooks, 'post-hooks': app.postHooks, 'validate-hooks': app.validateHooks };
  return Object.entries(dirs)
    .filter(([key, dir]) => layer.has(key) && !isDirectory(dir))
    .map(([key]) => ({ key, message: 'hook directory does not exist: create it, or remove the setting to use the default' }));
}

/** The files git is pointed at (SSH key, known hosts, allowed signers) exist. */
export function gitFilesExist({ layer }: RuleInput): RuleProblem[] {
  return missingFiles(layer, ['git-ssh-key', 'git-known-hosts', 'git-allowed-signers'], 'file not found: give the path of an existing file');
}

/** The minisign public key could be read, and parses exactly as the verifier will parse it. */
export function minisignKeyIsValid({ app, layer }: RuleInput): RuleProblem[] {
  const unread = app.unread.get('minisign-key-file');
  if (unread) return [{ key: 'minisign-key-file', message: unread }];
  if (!app.verify.minisignKey) return [];
  try {
    // A bad key fails here rather than at the first deploy.
    parseMinisignKey(app.verify.minisignKey);
    return [];
  } catch (error) {
    return [{ key: layer.has('minisign-key-file') ? 'minisign-key-file' : 'minisign-key', message: messageOf(error) }];
  }
}

/** etcd credentials come as a pair. */
export function etcdAuthTogether({ layer }: RuleInput): RuleProblem[] {
  if (Boolean(layer.get('etcd-user')) === Boolean(layer.get('etcd-password'))) return [];
  return [{ key: layer.has('etcd-user') ? 'etcd-password' : 'etcd-user', message: 'etcd-user and etcd-password must be set together', secret: true }];
}

/** The etcd TLS files exist. */
export function etcdFilesExist({ layer }: RuleInput): RuleProblem[] {
  return missingFiles(layer, ['etcd-ca', 'etcd-cert', 'etcd-key'], 'file not found: give the path of an existing PEM file');
}

/** The `owner` user (and group) exist on this host. */
export function ownerExists({ app }: RuleInput): RuleProblem[] {
  if (!app.owner) return [];
  const [user, group] = app.owner.split(':');
  const known = (db: string, name: string) => /^\d+$/.test(name) || spawnSync('getent', [db, name], { stdio: 'ignore' }).status === 0;
  if (known('passwd', user!) && (group === undefined || known('group', group))) return [];
  return [{ key: 'owner', message: 'no such user or group on this host: create it, or give an existing user[:group]' }];
}

/** `git-verify` names the keys it trusts. */
export function gitVerifyHasSigners({ app }: RuleInput): RuleProblem[] {
  if (!app.verify.gitVerify || app.verify.gitAllowedSigners) return [];
  return [{ key: 'git-verify', message: 'needs git-allowed-signers = FILE naming the keys whose signatures are trusted' }];
}

/** Every rule of one app, in the order their problems are listed. */
const appRules: readonly Rule[] = [
  remoteIsValid,
  awsKeysTogether,
  hookDirsExist,
  gitFilesExist,
  minisignKeyIsValid,
  etcdAuthTogether,
  etcdFilesExist,
  ownerExists,
  gitVerifyHasSigners,
];

/** Runs every rule on one app; each problem becomes an issue naming the value's source and key. */
export function checkApp(input: RuleInput, issues: ConfigIssue[]): void {
  const { app, layer } = input;
  const label = app.name === 'default' ? '' : `[app ${app.name}] `;
  for (const rule of appRules) {
    for (const { key, message, secret } of rule(input)) {
      const raw = layer.get(key)?.raw;
      const shown = secret || raw === undefined || holdsCredential(raw) ? {} : { value: raw };
      issues.push({ source: layer.get(key)?.source ?? 'defaults', key: `${label}${key}`, ...shown, message });
    }
  }
}

/** Two apps never share a deploy directory (releases and state would mix). */
export function distinctDeployDirs(apps: readonly AppDraft[]): ConfigIssue[] {
  const seen = new Map<string, string>();
  const issues: ConfigIssue[] = [];
  for (const app of apps) {
    const other = seen.get(app.deployDir);
    if (other) {
      issues.push({ source: app.source, key: `[app ${app.name}] local`, value: app.local, message: `shares its directory with app ${other}: each app needs its own directory for releases and state` });
    }
    seen.set(app.deployDir, app.name);
  }
  return issues;
}

/** Of `keys`, those given whose path is not an existing file. */
function missingFiles(layer: RawLayer, keys: readonly string[], message: string): RuleProblem[] {
  return keys.filter((key) => {
    const raw = layer.get(key);
    return raw !== undefined && !isFile(resolve(raw.base, raw.raw));
  }).map((key) => ({ key, message }));
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
