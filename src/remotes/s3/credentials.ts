import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { RemoteConfig } from '../types.js';

/**
 * Where an S3 remote's credentials come from (DESIGN §4), in this order: the config keys,
 * the running user's `~/.amazon/account-key` (the original repo-deploy's file), then the AWS
 * SDK's default chain (environment, shared profile, instance role).
 */

/** Name of a credential source, as shown in `detail.credentials` and logs. */
export type CredentialSource = 'config' | 'account-key file' | 'default chain';

/** Static keys; never logged. */
export interface StaticKeys {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The credentials chosen for one request. */
export interface ResolvedCredentials {
  source: CredentialSource;
  /** Absent for `default chain`: the SDK resolves those itself. */
  keys?: StaticKeys;
}

/** Path of the account-key file for the running user; honours `HOME` through `os.homedir()`. */
export function accountKeyPath(): string {
  return join(homedir(), '.amazon', 'account-key');
}

/**
 * Picks the credential source. The account-key file is read on every call so an operator who
 * rotates it is picked up at the next check without a restart. Throws `Error` naming the file
 * when it exists but cannot be used: silently falling through to another identity would be a
 * surprise in production.
 */
export async function resolveCredentials(config: Pick<RemoteConfig, 'awsAccessKey' | 'awsSecretKey'>): Promise<ResolvedCredentials> {
  if (config.awsAccessKey || config.awsSecretKey) {
    if (!config.awsAccessKey || !config.awsSecretKey) {
      throw new Error('incomplete s3 credentials in the config: set both aws-access-key and aws-secret-key');
    }
    return { source: 'config', keys: { accessKeyId: config.awsAccessKey, secretAccessKey: config.awsSecretKey } };
  }
  const path = accountKeyPath();
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { source: 'default chain' };
    throw new Error(`cannot read s3 account-key file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  return { source: 'account-key file', keys: parseAccountKey(text, path) };
}

/**
 * Parses `accessKey=…` / `secretKey=…` lines. Blank lines and `#` comments are skipped,
 * whitespace around keys and values and matching quotes are dropped, CRLF endings are fine.
 */
export function parseAccountKey(text: string, path: string): StaticKeys {
  const values = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq === -1) continue;
    const name = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1).trim().replace(/^(["'])(.*)\1$/, '$2');
    values.set(name, value);
  }
  const accessKeyId = values.get('accesskey');
  const secretAccessKey = values.get('secretkey');
  if (!accessKeyId || !secretAccessKey) {
    const missing = [!accessKeyId && 'accessKey', !secretAccessKey && 'secretKey'].filter(Boolean).join(' and ');
    throw new Error(`s3 account-key file ${path} has no ${missing} line (expected accessKey=… and secretKey=…)`);
  }
  return { accessKeyId, secretAccessKey };
}
