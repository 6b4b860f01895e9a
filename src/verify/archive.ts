// PLACEHOLDER until signature verification lands (issue 6): refuses to pretend.
import type { VerifyConfig } from '../config/types.js';
import { VerificationError } from '../errors.js';

/** Reads a file published beside the archive (`.minisig`, `.sha256`). */
export type SidecarReader = (suffix: string) => Promise<Buffer>;

/** Facts about a successful verification, for logs and `status`. */
export interface ArchiveVerification {
  /** minisign trusted comment, when a signature was checked. */
  trustedComment?: string;
  /** What was checked, e.g. `minisign`, `sha256`. */
  checks: string[];
}

/**
 * Verifies the archive at `file` as `config` requires, before anything is extracted.
 * Throws `VerificationError` saying what was expected and what was found.
 */
export async function verifyArchive(
  _file: string,
  config: VerifyConfig,
  _readSidecar: SidecarReader | undefined,
): Promise<ArchiveVerification> {
  if (config.minisignKey || config.verifySha256) {
    throw new VerificationError('signature verification is not available in this build');
  }
  return { checks: [] };
}
