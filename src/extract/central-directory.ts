import { fstatSync, readSync } from 'node:fs';
import { VerificationError } from '../errors.js';

/** One entry as the central directory describes it, before any safety rule is applied. */
export interface RawEntry {
  /** Name as stored (decoded as UTF-8), not yet checked or normalised. */
  name: string;
  /** The raw name held a NUL byte (the decoded string keeps it, but we say so explicitly). */
  hasNul: boolean;
  /** Upper byte of "version made by": 3 is unix, 19 is macOS; others carry no unix modes. */
  madeBy: number;
  /** General purpose flags (bit 0: encrypted, bit 6: strong encryption). */
  flags: number;
  /** Compression method: 0 stored, 8 deflate. */
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** External attributes: unix mode in the upper 16 bits, MS-DOS attributes in the lower. */
  externalAttributes: number;
  /** Offset of the local file header in the archive. */
  localHeaderOffset: number;
}

/** The archive's layout: where the entry data may live and what the central directory holds. */
export interface CentralDirectory {
  /** Size of the archive file in bytes. */
  archiveSize: number;
  /** Offset where the central directory starts: all entry data must end before it. */
  dataEnd: number;
  entries: RawEntry[];
}

const eocdSize = 22;
const maxComment = 0xffff;
const chunk = 1024 * 1024;

/**
 * Reads the end-of-central-directory record (zip64 aware) and parses the central directory
 * in 1 MiB chunks, so a huge directory does not become one huge buffer. Rejects an archive
 * that declares more than `maxEntries` entries before parsing any of them.
 */
export function readCentralDirectory(fd: number, archive: string, maxEntries: number): CentralDirectory {
  const corrupt = (what: string) => new VerificationError(`corrupt zip ${archive}: ${what}`);
  const archiveSize = fstatSync(fd).size;
  const tailLength = Math.min(archiveSize, eocdSize + maxComment + 20);
  const tail = readAt(fd, archiveSize - tailLength, tailLength);
  let eocd = -1;
  for (let i = tail.length - eocdSize; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50 && i + eocdSize + tail.readUInt16LE(i + 20) <= tail.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw corrupt('no end of central directory record (not a zip, or truncated)');
  if (tail.readUInt16LE(eocd + 4) !== 0 && tail.readUInt16LE(eocd + 4) !== 0xffff) throw corrupt('multi-disk archives are not supported');
  let count: number = tail.readUInt16LE(eocd + 10);
  let cdSize: number = tail.readUInt32LE(eocd + 12);
  let cdOffset: number = tail.readUInt32LE(eocd + 16);
  let cdLimit = archiveSize - tailLength + eocd;

  // A zip64 locator sits right before the classic record; it wins whenever it is present,
  // because the classic fields are then saturated (0xffff...) or merely copies.
  if (eocd >= 20 && tail.readUInt32LE(eocd - 20) === 0x07064b50) {
    const recordOffset = u64(tail, eocd - 20 + 8, corrupt);
    const record = recordOffset + 56 <= archiveSize ? readAt(fd, recordOffset, 56) : Buffer.alloc(0);
    if (record.length < 56 || record.readUInt32LE(0) !== 0x06064b50) throw corrupt('bad zip64 end of central directory record');
    count = u64(record, 32, corrupt);
    cdSize = u64(record, 40, corrupt);
    cdOffset = u64(record, 48, corrupt);
    cdLimit = recordOffset;
  }
  if (count > maxEntries) {
    throw new VerificationError(`zip ${archive} has ${count} entries, more than the limit of ${maxEntries}`);
  }
  if (cdOffset + cdSize > cdLimit) throw corrupt('central directory lies outside the archive (truncated?)');

  const entries: RawEntry[] = [];
  let buffer = Buffer.alloc(0);
  let at = 0; // position of buffer[0] relative to cdOffset
  let pos = 0; // parse position relative to cdOffset
  const ensure = (n: number): Buffer => {
    if (pos + n > cdSize) throw corrupt('central directory is cut short');
    if (pos + n > at + buffer.length) {
      const keep = buffer.subarray(pos - at);
      const more = readAt(fd, cdOffset + at + buffer.length, Math.min(Math.max(chunk, n), cdSize - at - buffer.length));
      buffer = Buffer.concat([keep, more]);
      at = pos;
    }
    return buffer;
  };
  for (let i = 0; i < count; i++) {
    let b = ensure(46);
    let o = pos - at;
    if (b.readUInt32LE(o) !== 0x02014b50) throw corrupt(`bad central directory signature at entry ${i}`);
    const nameLength = b.readUInt16LE(o + 28);
    const extraLength = b.readUInt16LE(o + 30);
    const total = 46 + nameLength + extraLength + b.readUInt16LE(o + 32);
    b = ensure(total);
    o = pos - at;
    const rawName = b.subarray(o + 46, o + 46 + nameLength);
    const entry: RawEntry = {
      name: rawName.toString('utf8'),
      hasNul: rawName.includes(0),
      madeBy: b.readUInt8(o + 5),
      flags: b.readUInt16LE(o + 8),
      method: b.readUInt16LE(o + 10),
      crc32: b.readUInt32LE(o + 16),
      compressedSize: b.readUInt32LE(o + 20),
      uncompressedSize: b.readUInt32LE(o + 24),
      externalAttributes: b.readUInt32LE(o + 38),
      localHeaderOffset: b.readUInt32LE(o + 42),
    };
    applyZip64(entry, b.subarray(o + 46 + nameLength, o + 46 + nameLength + extraLength), corrupt);
    entries.push(entry);
    pos += total;
  }
  return { archiveSize, dataEnd: cdOffset, entries };
}

/** Replaces saturated 32-bit fields with their zip64 extra-field values, in the spec's order. */
function applyZip64(entry: RawEntry, extra: Buffer, corrupt: (what: string) => Error): void {
  const needs = entry.uncompressedSize === 0xffffffff || entry.compressedSize === 0xffffffff || entry.localHeaderOffset === 0xffffffff;
  if (!needs) return;
  for (let i = 0; i + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(i);
    const size = extra.readUInt16LE(i + 2);
    const body = extra.subarray(i + 4, i + 4 + size);
    i += 4 + size;
    if (id !== 0x0001) continue;
    let p = 0;
    const next = (): number => {
      if (p + 8 > body.length) throw corrupt(`short zip64 extra field in ${JSON.stringify(entry.name)}`);
      const v = u64(body, p, corrupt);
      p += 8;
      return v;
    };
    if (entry.uncompressedSize === 0xffffffff) entry.uncompressedSize = next();
    if (entry.compressedSize === 0xffffffff) entry.compressedSize = next();
    if (entry.localHeaderOffset === 0xffffffff) entry.localHeaderOffset = next();
    return;
  }
  throw corrupt(`missing zip64 extra field in ${JSON.stringify(entry.name)}`);
}

/** A little-endian 64-bit field as a number; anything beyond 2^53 is corrupt for us. */
function u64(buffer: Buffer, offset: number, corrupt: (what: string) => Error): number {
  const value = buffer.readBigUInt64LE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt('64-bit field out of range');
  return Number(value);
}

/** Reads exactly `length` bytes at `position`, or fewer when the file ends first. */
export function readAt(fd: number, position: number, length: number, into?: Buffer): Buffer {
  const buffer = into ?? Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return buffer.subarray(0, done);
}
