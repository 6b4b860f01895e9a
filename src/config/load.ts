import { ConfigError, type ConfigIssue } from '../errors.js';
import { warnIfSecretsReadable } from '../verify/config-permissions.js';
import { buildApp, type AppDraft } from './build-app.js';
import { findKey, keySpecs, type KeySpec } from './keys.js';
import { defaultPaths } from './paths.js';
import { layerFromEnv, readConfigFile, type RawLayer } from './raw-layers.js';
import { checkApp, distinctDeployDirs } from './rules.js';
import type { AppConfig } from './types.js';

export { defaultPaths } from './paths.js';

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

/** Keys a named app never inherits from the top level: they identify the default app. */
const defaultAppOnly = new Set(['remote', 'local', 'pre-hooks', 'post-hooks', 'validate-hooks']);

/**
 * Reads, merges and validates the configuration: parses every value (the remote into its
 * spec), then runs the rules of `rules.ts`. Collects every problem before throwing one
 * `ConfigError` that lists them all (file, key, value, what is accepted).
 */
export function loadConfig(inputs: ConfigInputs = {}): LoadedConfig {
  const issues: ConfigIssue[] = [];
  const cwd = inputs.cwd ?? process.cwd();
  const file = readConfigFile(inputs.configFile, cwd, issues);
  const envLayer = layerFromEnv(inputs.env ?? {}, cwd);
  const flagLayer: RawLayer = new Map(
    Object.entries(inputs.flags ?? {}).map(([key, raw]) => [key, { raw, source: 'command line', base: cwd }]),
  );
  const apps: AppDraft[] = [];
  const add = (name: string, layer: RawLayer) => {
    const app = buildApp(name, layer, file.dir, issues);
    checkApp({ app, layer }, issues);
    apps.push(app);
  };
  const topLayer = new Map([...file.top, ...envLayer, ...flagLayer]);
  if (topLayer.has('remote')) add('default', topLayer);
  for (const [name, section] of file.apps) {
    const inherited = [...file.top, ...envLayer].filter(([key]) => !defaultAppOnly.has(key));
    const globalFlags = [...flagLayer].filter(([key]) => findKey(key)?.global);
    add(name, new Map([...inherited, ...section, ...globalFlags]));
  }
  if (apps.length === 0 && issues.length === 0) {
    issues.push({
      source: file.path ?? 'command line',
      key: 'remote',
      message: `no remote configured: give REMOTE on the command line, or set remote = URL in ${file.path ?? defaultPaths.config}`,
    });
  }
  issues.push(...distinctDeployDirs(apps));
  if (issues.length) throw new ConfigError(inFileOrder(issues, file.path));
  const warning = file.path ? warnIfSecretsReadable(file.path, file.secretKeys.length > 0, file.secretKeys) : undefined;
  return { ...(file.path ? { file: file.path } : {}), apps: apps.map(finished), warnings: warning ? [warning] : [] };
}

/** A draft the rules passed: its remote was parsed (`remoteIsValid` reports it otherwise). */
function finished({ unread: _unread, remoteSpec, ...app }: AppDraft): AppConfig {
  return { ...app, remoteSpec: remoteSpec! };
}

/** Issues of the file in the order of its lines (a stable sort), then the others. */
function inFileOrder(issues: ConfigIssue[], file: string | undefined): ConfigIssue[] {
  const line = (i: ConfigIssue) => (file && i.source.startsWith(`${file}:`) ? Number(i.source.slice(file.length + 1)) : Infinity);
  return [...issues].sort((a, b) => line(a) - line(b) || 0);
}

/** Keys whose values are secrets; re-exported for log redaction. */
export const secretKeys: readonly KeySpec[] = keySpecs.filter((k) => k.secret);
