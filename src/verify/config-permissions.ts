import { statSync } from 'node:fs';

/**
 * A config file holding credentials (`aws-secret-key`, …) should be readable by its owner
 * only, as ssh insists for private keys. The agent still starts with a looser mode, since
 * refusing would take a fleet down on a permissions slip, but says so loudly.
 */

/**
 * Returns a warning naming `file` and the fix (`chmod 600 FILE`) when `hasSecrets` and the file
 * is readable by its group or by others; otherwise undefined (also when it cannot be stat'ed:
 * the loader reports unreadable files itself).
 */
export function warnIfSecretsReadable(file: string, hasSecrets: boolean): string | undefined {
  if (!hasSecrets) return undefined;
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    return undefined;
  }
  const readers = [mode & 0o040 ? 'its group' : '', mode & 0o004 ? 'all users' : ''].filter(Boolean);
  if (readers.length === 0) return undefined;
  return `config file ${file} holds credentials and is readable by ${readers.join(' and ')} (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${file}`;
}
