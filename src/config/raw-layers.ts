import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ConfigIssue } from '../errors.js';
import { holdsCredential } from '../verify/config-permissions.js';
import { readIni, type IniEntry } from './ini-reader.js';
import { envNameOf, findKey, keySpecs, nearestKey } from './keys.js';
import { defaultPaths } from './paths.js';

/**
 * The raw layers the loader merges (file, `REPO_DEPLOY_*` environment, flags): each value as
 * written, with where it came from. Nothing is parsed here beyond the file's structure.
 */

/** A raw value and where it came from. */
export interface RawValue {
  /** The value as written. */
  raw: string;
  /** `file:line`, `environment NAME` or `command line`, for messages. */
  source: string;
  /** Relative paths resolve against this directory. */
  base: string;
}

/** Raw values by canonical key name. */
export type RawLayer = Map<string, RawValue>;

/** What the config file holds. */
export interface FileResult {
  /** The file read, absent when the default file does not exist. */
  path?: string;
  /** Its directory (the default config directory without a file): base of app hook dirs. */
  dir: string;
  /** Top-level keys. */
  top: RawLayer;
  /** Keys of each `[app NAME]` section. */
  apps: Map<string, RawLayer>;
  /** Keys of the file that hold a credential (secret keys, URLs with userinfo or tokens). */
  secretKeys: string[];
}

const appName = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
/** Names an `[app NAME]` may not take, and why. */
const reservedAppNames = new Map([
  ['default', 'it names the app of the top-level keys'],
  ['current', "DIRECTORY/current is the default app's link"],
  ['releases', "DIRECTORY/releases holds the default app's releases"],
]);

/** Reads the config file (`given`, or the default one if it exists) into raw layers, recording issues. */
export function readConfigFile(given: string | undefined, cwd: string, issues: ConfigIssue[]): FileResult {
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
  readSections(text, result, issues);
  return result;
}

/** Fills `result` from the file's sections. */
function readSections(text: string, result: FileResult, issues: ConfigIssue[]): void {
  const path = result.path!;
  const doc = readIni(text);
  // `file:line` as the source: every message about a value of the file points at its line.
  for (const problem of doc.problems) issues.push({ source: `${path}:${problem.line}`, key: '', message: problem.message });
  for (const section of doc.sections) {
    if (section.name === null) {
      result.top = readKeys(section.entries, path, '', issues, result);
      continue;
    }
    const source = `${path}:${section.line}`;
    const header = `[${section.name}]`;
    const match = /^app\s+(.*)$/.exec(section.name);
    if (!match) {
      issues.push({ source, key: header, message: 'unknown section: sections are written [app NAME], NAME made of letters, digits, - and _' });
      continue;
    }
    const name = match[1]!;
    const problem = appNameProblem(name) ?? (result.apps.has(name) ? `duplicate section: app ${name} is already configured above; merge the two sections into one` : null);
    if (problem) {
      issues.push({ source, key: header, message: problem });
      continue;
    }
    result.apps.set(name, readKeys(section.entries, path, `[app ${name}] `, issues, result));
  }
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

/** The `REPO_DEPLOY_*` variables of `env` as a layer; relative paths resolve against `cwd`. */
export function layerFromEnv(env: Record<string, string | undefined>, cwd: string): RawLayer {
  const layer: RawLayer = new Map();
  for (const spec of keySpecs) {
    const value = env[envNameOf(spec.name)];
    if (value !== undefined && value !== '') layer.set(spec.name, { raw: value, source: `environment ${envNameOf(spec.name)}`, base: cwd });
  }
  return layer;
}
