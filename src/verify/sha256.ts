import { VerificationError } from '../errors.js';

/**
 * The `<remote>.sha256` sidecar: a digest published beside the archive, in the
 * format `sha256sum` writes (`HEX  name`, `HEX *name`) or just `HEX`. The BSD form
 * (`SHA256 (name) = HEX`, from `sha256sum --tag` or `shasum`) is accepted too, since release
 * tooling on macOS writes it.
 */

/** One digest line of a sidecar. */
export interface Sha256Entry {
  /** Lower-case hex digest, 64 characters. */
  digest: string;
  /** File name given with it, if any. */
  name?: string;
}

const gnuLine = /^\\?([0-9a-fA-F]{64})(?:\s+\*?(.*))?$/;
const bsdLine = /^SHA256 \((.*)\) = ([0-9a-fA-F]{64})$/;

/**
 * Parses a sidecar's text into its digest lines; blank lines and `#` comments are skipped.
 * Throws `VerificationError` naming `name` (the sidecar) when a line is not a sha256 line.
 */
export function parseSha256Sidecar(text: string, name = 'sha256 file'): Sha256Entry[] {
  const entries: Sha256Entry[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.replace(/\r$/, '').trim();
    if (!line || line.startsWith('#')) continue;
    const gnu = gnuLine.exec(line);
    const bsd = gnu ? null : bsdLine.exec(line);
    if (gnu) entries.push({ digest: gnu[1]!.toLowerCase(), ...(gnu[2] ? { name: gnu[2] } : {}) });
    else if (bsd) entries.push({ digest: bsd[2]!.toLowerCase(), name: bsd[1]! });
    else {
      const shown = line.length > 80 ? `${line.slice(0, 80)}…` : line;
      throw new VerificationError(`malformed sha256 file ${name}: line ${index + 1} is not "HEX  name" or "HEX" (found ${JSON.stringify(shown)})`);
    }
  }
  if (entries.length === 0) throw new VerificationError(`malformed sha256 file ${name}: no sha256 digest found`);
  return entries;
}

/**
 * Picks the digest that applies to the archive: the only one, or, in a multi-file
 * `SHA256SUMS`, the one whose name ends with `archiveName` (the remote's last path segment).
 */
export function expectedSha256(entries: readonly Sha256Entry[], archiveName: string | undefined, name = 'sha256 file'): string {
  if (entries.length === 1) return entries[0]!.digest;
  const base = archiveName?.split('/').pop();
  const matches = base ? entries.filter((e) => e.name !== undefined && e.name.split('/').pop() === base) : [];
  if (matches.length === 1) return matches[0]!.digest;
  throw new VerificationError(
    `sha256 file ${name} lists ${entries.length} digests and ${matches.length === 0 ? 'none' : 'several'} for ${base ?? 'the archive'}: publish one digest per archive`,
  );
}

/**
 * Compares the archive's digest (hex) with the sidecar's text. Throws `VerificationError`
 * `sha256 mismatch: expected …, archive has …` on a difference.
 */
export function checkSha256(actualHex: string, sidecarText: string, options: { name?: string; archiveName?: string } = {}): string {
  const name = options.name ?? 'sha256 file';
  const expected = expectedSha256(parseSha256Sidecar(sidecarText, name), options.archiveName, name);
  const actual = actualHex.toLowerCase();
  if (expected !== actual) throw new VerificationError(`sha256 mismatch: expected ${expected} (from ${name}), archive has ${actual}`);
  return actual;
}
