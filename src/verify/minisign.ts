import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { VerificationError } from '../errors.js';
import { digestFile } from './digest-file.js';

/**
 * minisign signatures (https://jedisct1.github.io/minisign/), checked with Node's own Ed25519
 * and BLAKE2b so no native dependency is needed.
 *
 * Public key: base64 of `Ed` + key id (8 bytes) + Ed25519 key (32 bytes).
 * Signature file, four lines: an untrusted comment; base64 of algorithm (`ED` prehashed, `Ed`
 * legacy) + key id + signature (64 bytes); `trusted comment: …`; base64 of the global signature
 * over signature + trusted comment, which is what makes the trusted comment trustworthy.
 */

/** Largest file accepted with a legacy (`Ed`) signature unless the caller says otherwise. */
export const defaultMaxLegacyBytes = 1024 ** 3;

/** A pinned minisign public key. */
export interface MinisignKey {
  /** Key id as minisign prints it: 16 upper-case hex digits. */
  keyId: string;
  /** The 8 raw key id bytes, compared against each signature's. */
  keyNum: Buffer;
  /** The Ed25519 key, ready for `crypto.verify`. */
  publicKey: KeyObject;
}

/** A parsed `.minisig` file. */
export interface MinisignSignature {
  /** `prehashed` (`ED`: the BLAKE2b-512 of the file is signed) or `legacy` (`Ed`: the file). */
  algorithm: 'prehashed' | 'legacy';
  /** Key id of the signer, as minisign prints it. */
  keyId: string;
  keyNum: Buffer;
  /** Ed25519 signature over the file or its BLAKE2b-512 digest. */
  signature: Buffer;
  /** Text after `trusted comment: ` (covered by the global signature). */
  trustedComment: string;
  /** Ed25519 signature over `signature` + `trustedComment`. */
  globalSignature: Buffer;
}

/** Options for `verifyMinisignFile`. */
export interface MinisignFileOptions {
  /** BLAKE2b-512 of the file when the caller already has it (saves a second read). */
  blake2b?: Buffer;
  /** Legacy signatures need the whole file in memory: bigger files are refused. */
  maxLegacyBytes?: number;
  /** How to name the signature file in messages, e.g. `https://host/app.zip.minisig`. */
  name?: string;
}

// DER SubjectPublicKeyInfo header for a raw Ed25519 key (RFC 8410): prefix + 32 key bytes.
const ed25519SpkiPrefix = Buffer.from('302a300506032b6570032100', 'hex');
const trustedPrefix = 'trusted comment: ';
const untrustedPrefix = 'untrusted comment: ';

/**
 * Parses the base64 line of a minisign `.pub` file (the whole file is accepted too).
 * Throws `VerificationError` when it is not a minisign Ed25519 public key.
 */
export function parseMinisignKey(text: string): MinisignKey {
  const line = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l && !l.startsWith(untrustedPrefix)) ?? '';
  const raw = decodeBase64(line);
  if (!raw || raw.length !== 42 || raw.subarray(0, 2).toString('latin1') !== 'Ed') {
    throw new VerificationError('pinned minisign key is malformed: expected the base64 line of a minisign .pub file (42 bytes starting with "Ed")');
  }
  const keyNum = raw.subarray(2, 10);
  return { keyId: formatKeyId(keyNum), keyNum, publicKey: ed25519Key(raw.subarray(10)) };
}

/** Parses a `.minisig` file; `name` names it in messages. Throws `VerificationError`. */
export function parseMinisignSignature(data: Buffer, name = 'signature file'): MinisignSignature {
  const malformed = (what: string) => new VerificationError(`malformed signature file ${name}: ${what}`);
  const lines = data.toString('utf8').split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines.length < 4) throw malformed(`expected 4 lines, found ${lines.filter((l) => l).length}`);
  if (!lines[0]!.startsWith(untrustedPrefix)) throw malformed(`line 1 should start with "${untrustedPrefix.trim()}"`);
  const sig = decodeBase64(lines[1]!);
  if (!sig || sig.length !== 74) throw malformed(`line 2 should be 74 bytes of base64, found ${sig ? `${sig.length} bytes` : 'invalid base64'}`);
  const alg = sig.subarray(0, 2).toString('latin1');
  if (alg !== 'ED' && alg !== 'Ed') throw malformed(`unknown signature algorithm ${JSON.stringify(alg)} (expected "ED" or "Ed")`);
  if (!lines[2]!.startsWith(trustedPrefix)) throw malformed(`line 3 should start with "${trustedPrefix.trim()}"`);
  const globalSignature = decodeBase64(lines[3]!);
  if (!globalSignature || globalSignature.length !== 64) throw malformed('line 4 should be a 64-byte global signature in base64');
  const keyNum = sig.subarray(2, 10);
  return {
    algorithm: alg === 'ED' ? 'prehashed' : 'legacy',
    keyId: formatKeyId(keyNum),
    keyNum,
    signature: sig.subarray(10),
    trustedComment: lines[2]!.slice(trustedPrefix.length),
    globalSignature,
  };
}

/**
 * Checks `sig` against `message` (the BLAKE2b-512 digest for prehashed signatures, the whole
 * file for legacy ones): key id, signature, then the global signature over the trusted comment.
 * Returns the trusted comment. Throws `VerificationError` saying what was expected and found.
 */
export function verifyMinisignSignature(key: MinisignKey, sig: MinisignSignature, message: Buffer, name = 'signature file'): string {
  checkKeyId(key, sig, name);
  if (!verify(null, message, key.publicKey, sig.signature)) {
    throw new VerificationError(
      `minisign signature does not match the archive: ${name} was made by key ${key.keyId} for different content (${sig.algorithm} signature)`,
    );
  }
  const signed = Buffer.concat([sig.signature, Buffer.from(sig.trustedComment, 'utf8')]);
  if (!verify(null, signed, key.publicKey, sig.globalSignature)) {
    throw new VerificationError(
      `minisign trusted comment does not match its global signature in ${name}: found ${JSON.stringify(sig.trustedComment)}, which is not what key ${key.keyId} signed`,
    );
  }
  return sig.trustedComment;
}

/**
 * Verifies `file` against the `.minisig` bytes `sigData` with `key`; returns the trusted
 * comment. Prehashed signatures use `options.blake2b` or hash the file as a stream; legacy
 * signatures read the whole file, so files over `maxLegacyBytes` are refused.
 */
export async function verifyMinisignFile(file: string, key: MinisignKey, sigData: Buffer, options: MinisignFileOptions = {}): Promise<string> {
  const name = options.name ?? 'signature file';
  const sig = parseMinisignSignature(sigData, name);
  // Before hashing: a signature by another key fails fast, without reading the archive.
  checkKeyId(key, sig, name);
  if (sig.algorithm === 'prehashed') {
    const digest = options.blake2b ?? (await digestFile(file, ['blake2b512'])).blake2b512!;
    return verifyMinisignSignature(key, sig, digest, name);
  }
  const limit = options.maxLegacyBytes ?? defaultMaxLegacyBytes;
  const size = (await stat(file)).size;
  if (size > limit) {
    throw new VerificationError(
      `legacy minisign signature refused for a ${size}-byte archive (limit ${limit} bytes): legacy signatures need the whole file in memory; re-sign without -l to make a prehashed signature (${name})`,
    );
  }
  return verifyMinisignSignature(key, sig, await readFile(file), name);
}

/**
 * Throws `VerificationError` naming both key ids when `sig` was made by another key than the
 * pinned one: "signed by someone else" is the likeliest mistake and deserves its own message.
 */
export function checkKeyId(key: MinisignKey, sig: MinisignSignature, name: string): void {
  if (!sig.keyNum.equals(key.keyNum)) {
    throw new VerificationError(`signature key id ${sig.keyId} does not match the pinned key ${key.keyId} (${name})`);
  }
}

/** Key id bytes as minisign prints them: a little-endian u64 in upper-case hex. */
function formatKeyId(keyNum: Buffer): string {
  return Buffer.from(keyNum).reverse().toString('hex').toUpperCase();
}

function ed25519Key(raw: Buffer): KeyObject {
  try {
    return createPublicKey({ key: Buffer.concat([ed25519SpkiPrefix, raw]), format: 'der', type: 'spki' });
  } catch (error) {
    throw new VerificationError(`pinned minisign key is not a valid Ed25519 key: ${(error as Error).message}`, { cause: error });
  }
}

/** Strict base64: Node's decoder skips junk silently, which would hide a corrupt file. */
function decodeBase64(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (!trimmed || !/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0) return undefined;
  return Buffer.from(trimmed, 'base64');
}
