import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Digest algorithms the verifiers need: sha256 for sidecars, BLAKE2b-512 for minisign. */
export type DigestAlgorithm = 'sha256' | 'blake2b512';

/**
 * Hashes `file` with every algorithm in `algorithms` in a single streaming pass, so checking a
 * multi-gigabyte archive against both a sha256 sidecar and a minisign signature reads it once
 * and never holds it in memory. Returns the raw digests by algorithm.
 */
export async function digestFile(
  file: string,
  algorithms: readonly DigestAlgorithm[],
  signal?: AbortSignal,
): Promise<Partial<Record<DigestAlgorithm, Buffer>>> {
  const hashes = algorithms.map((algorithm) => [algorithm, createHash(algorithm)] as const);
  // 1 MiB reads: fewer syscalls than the 64 KiB default, still a small, bounded buffer.
  const stream = createReadStream(file, { highWaterMark: 1024 * 1024, ...(signal ? { signal } : {}) });
  for await (const chunk of stream) {
    for (const [, hash] of hashes) hash.update(chunk as Buffer);
  }
  return Object.fromEntries(hashes.map(([algorithm, hash]) => [algorithm, hash.digest()]));
}
