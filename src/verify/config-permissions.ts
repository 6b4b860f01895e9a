import { statSync } from 'node:fs';
import { redactUrl } from '../util/redact.js';

/**
 * A config file holding credentials (`aws-secret-key`, a URL with a password or token, …)
 * should be readable by its owner only, as ssh insists for private keys. The agent still
 * starts with a looser mode, since refusing would take a fleet down on a permissions slip, but
 * says so loudly.
 */

/**
 * True when a config value carries a credential inside a URL: `user:password@`, a bare user
 * over http(s) (a token), or a secret query parameter (`?token=`, a pre-signed signature).
 * Every word of the value is looked at, so lists of URLs (`etcd`) count too.
 */
export function holdsCredential(value: string): boolean {
  return value
    .split(/[\s,]+/)
    .filter((word) => word.includes('@') || word.includes('?'))
    .some((word) => !word.includes('***') && redactUrl(word).includes('***'));
}

/**
 * Returns a warning naming `file`, the keys holding credentials (`keys`, when known) and the
 * fix (`chmod 600 FILE`) when `hasSecrets` and the file is readable by its group or by others;
 * otherwise undefined (also when it cannot be stat'ed: the loader reports unreadable files
 * itself).
 */
export function warnIfSecretsReadable(file: string, hasSecrets: boolean, keys: readonly string[] = []): string | undefined {
  if (!hasSecrets) return undefined;
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    return undefined;
  }
  const readers = [mode & 0o040 ? 'its group' : '', mode & 0o004 ? 'all users' : ''].filter(Boolean);
  if (readers.length === 0) return undefined;
  const which = keys.length ? ` (${keys.join(', ')})` : '';
  return `config file ${file} holds credentials${which} and is readable by ${readers.join(' and ')} (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${file}`;
}
