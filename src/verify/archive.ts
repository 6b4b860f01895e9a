import { basename } from 'node:path';
import type { VerifyConfig } from '../config/types.js';
import { VerificationError, messageOf } from '../errors.js';
import { digestFile, type DigestAlgorithm } from './digest-file.js';
import { checkKeyId, parseMinisignKey, parseMinisignSignature, verifyMinisignFile } from './minisign.js';
import { checkSha256 } from './sha256.js';

/** Reads a file published beside the archive (`.minisig`, `.sha256`). */
export type SidecarReader = (suffix: string) => Promise<Buffer>;

/** Facts about a successful verification, for logs and `status`. */
export interface ArchiveVerification {
  /** minisign trusted comment, when a signature was checked. */
  trustedComment?: string;
  /** What was checked, e.g. `minisign`, `sha256`. */
  checks: string[];
}

/** Optional facts the caller already has. */
export interface VerifyArchiveOptions {
  /**
   * The remote's URL without credentials: names the sidecars in messages
   * (`https://host/app.zip.minisig`) and picks the archive's line in a multi-file `SHA256SUMS`.
   * Default: the archive's file name.
   */
  display?: string;
  /** sha256 of the archive (hex) computed while downloading; must be of exactly these bytes. */
  sha256?: string;
}

/**
 * Verifies the archive at `file` as `config` requires, before anything is extracted.
 * Throws `VerificationError` saying what was expected and what was found.
 *
 * `options` (optional) lets the caller name the remote in messages and hand over the sha256
 * it already computed while downloading, which saves a second hashing pass.
 */
export async function verifyArchive(
  file: string,
  config: VerifyConfig,
  readSidecar: SidecarReader | undefined,
  options: VerifyArchiveOptions = {},
): Promise<ArchiveVerification> {
  if (!config.minisignKey && !config.verifySha256) return { checks: [] };
  const where = options.display ?? basename(file);
  if (!readSidecar) {
    // Configured verification that cannot run must refuse, never silently deploy unverified.
    throw new VerificationError(`verification is configured but the remote ${where} cannot supply signature or digest files`);
  }
  // Parse the pinned key before any I/O: a bad key is the operator's error, not the remote's.
  const key = config.minisignKey ? parseMinisignKey(config.minisignKey) : undefined;
  const [sigData, sumData] = await Promise.all([
    key ? readRequired(readSidecar, '.minisig', 'signature', where) : undefined,
    config.verifySha256 ? readRequired(readSidecar, '.sha256', 'sha256', where) : undefined,
  ]);

  const sigName = `${where}.minisig`;
  const signature = sigData ? parseMinisignSignature(sigData, sigName) : undefined;
  // Cheap refusals before reading a possibly huge archive.
  if (key && signature) checkKeyId(key, signature, sigName);
  // One pass over the archive for every digest needed; legacy minisign reads it separately.
  const algorithms: DigestAlgorithm[] = [];
  if (sumData && !options.sha256) algorithms.push('sha256');
  if (signature?.algorithm === 'prehashed') algorithms.push('blake2b512');
  const digests = algorithms.length ? await digestFile(file, algorithms) : {};

  const result: ArchiveVerification = { checks: [] };
  if (sumData) {
    checkSha256(options.sha256 ?? digests.sha256!.toString('hex'), sumData.toString('utf8'), { name: `${where}.sha256`, archiveName: where });
    result.checks.push('sha256');
  }
  if (key && sigData) {
    result.trustedComment = await verifyMinisignFile(file, key, sigData, {
      name: sigName,
      ...(digests.blake2b512 ? { blake2b: digests.blake2b512 } : {}),
    });
    result.checks.push('minisign');
  }
  return result;
}

/** Reads a sidecar that verification requires: a missing one is a failure, never a skip. */
async function readRequired(readSidecar: SidecarReader, suffix: string, what: string, where: string): Promise<Buffer> {
  try {
    return await readSidecar(suffix);
  } catch (error) {
    if (error instanceof VerificationError) throw error;
    // The reader throws RemoteError (404, no such file); its message names the remote.
    throw new VerificationError(`${what} file ${where}${suffix} is missing: ${messageOf(error)}`, { cause: error });
  }
}
