import { VerificationError } from '../errors.js';
import { readAt } from './read-at.js';

/** Where the central directory lies, as the archive's last end-of-central-directory record says. */
export interface EndRecord {
  /** Entries the record announces. */
  count: number;
  /** Size of the central directory in bytes. */
  cdSize: number;
  /** Offset of the central directory in the file, the shift included. */
  cdStart: number;
  /**
   * Bytes before the archive proper (a self-extractor stub, padding): every offset the archive
   * records is this much too small, as `unzip` ("extra bytes at beginning") and Python's
   * `zipfile` ("concat") both compute it.
   */
  shift: number;
}

const eocdSize = 22;
const locatorSize = 20;
const zip64RecordSize = 56;
const sigEocd = 0x06054b50;
const sigLocator = 0x07064b50;
const sigZip64 = 0x06064b50;
export const sigCentral = 0x02014b50;
const sigArchiveExtra = 0x08064b50;

/**
 * Finds and checks the end-of-central-directory record the way both `unzip` and Python's
 * `zipfile` do: the LAST signature in the tail of the file, never an earlier one. Whatever the
 * two tools could read differently (a comment running past the end, a zip64 record that
 * disagrees with the classic one, a central directory found only without the shift) is refused.
 */
export function readEndRecord(fd: number, archiveSize: number, archive: string): EndRecord {
  const { tail, eocd, eocdAt } = findEndRecord(fd, archiveSize, archive);
  const classic: Layout = {
    disk: tail.readUInt16LE(eocd + 4),
    cdDisk: tail.readUInt16LE(eocd + 6),
    count: tail.readUInt16LE(eocd + 10),
    cdSize: tail.readUInt32LE(eocd + 12),
    cdOffset: tail.readUInt32LE(eocd + 16),
    recordAt: eocdAt,
  };
  return locateCentralDirectory(fd, withZip64(fd, classic, archive), classic.cdOffset, archive);
}

/** What an end record (classic, or zip64 when present) says, and where that record starts. */
interface Layout {
  disk: number;
  cdDisk: number;
  count: number;
  cdSize: number;
  cdOffset: number;
  /** Offset of the end record the central directory ends at. */
  recordAt: number;
}

const corruptZip = (archive: string, what: string) => new VerificationError(`corrupt zip ${archive}: ${what}`);

/** The tail of the file, the offset of the last end record in it, and that record's offset in the file. */
function findEndRecord(fd: number, archiveSize: number, archive: string): { tail: Buffer; eocd: number; eocdAt: number } {
  const tailLength = Math.min(archiveSize, eocdSize + 0xffff);
  const tailStart = archiveSize - tailLength;
  const tail = readAt(fd, tailStart, tailLength);
  const last = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let eocd = last;
  if (last > tail.length - eocdSize) {
    // A signature in the last 21 bytes has no room for a record: Python then only accepts a
    // comment-less record ending the file, unzip skips it. Anything else they read apart.
    const end = tail.length - eocdSize;
    eocd = end >= 0 && tail.readUInt32LE(end) === sigEocd && tail.readUInt16LE(end + 20) === 0 ? end : -2;
  }
  if (eocd === -1) throw new VerificationError(`${archive} is not a zip file (no end of central directory record; truncated?)`);
  if (eocd === -2) throw corruptZip(archive, 'an end of central directory signature lies in the last 21 bytes, too close to the end for a record');
  const commentLength = tail.readUInt16LE(eocd + 20);
  if (eocd + eocdSize + commentLength > tail.length) {
    throw corruptZip(archive, `the end of central directory record's comment (${commentLength} bytes) runs past the end of the file (truncated, or a record hidden in a comment)`);
  }
  return { tail, eocd, eocdAt: tailStart + eocd };
}

/**
 * The layout with the zip64 record's values when there is one. Without a zip64 record,
 * saturated fields are literal values to unzip and Python alike (65,535 entries is a real
 * count); the later checks judge them like any other.
 */
function withZip64(fd: number, classic: Layout, archive: string): Layout {
  const eocdAt = classic.recordAt;
  const zip64 = readZip64(fd, eocdAt, archive);
  if (zip64 === 'none') return classic;
  if (zip64 === 'bad') {
    // PK\6\7 where a locator would be but no zip64 record behind it: Python ignores it, unzip
    // fails on it. Neither reading is safe to pick.
    throw corruptZip(archive, 'a zip64 end of central directory locator is present but no zip64 record is where it points');
  }
  const fields = [
    ['disk number', classic.disk, 0xffff, zip64.disk],
    ['central directory disk', classic.cdDisk, 0xffff, zip64.cdDisk],
    ['entry count', classic.count, 0xffff, zip64.count],
    ['central directory size', classic.cdSize, 0xffffffff, zip64.cdSize],
    ['central directory offset', classic.cdOffset, 0xffffffff, zip64.cdOffset],
  ] as const;
  // unzip ignores a zip64 record that contradicts an unsaturated classic field; Python
  // takes the zip64 values regardless. Only an archive where both agree is read.
  for (const [field, value, all, wide] of fields) {
    if (value !== all && value !== wide) throw corruptZip(archive, `the zip64 end of central directory record disagrees with the classic one on the ${field} (${wide} vs ${value})`);
  }
  const { count, cdSize, cdOffset, disk, cdDisk } = zip64;
  const recordAt = eocdAt - locatorSize - zip64RecordSize;
  const zip64Shift = recordAt - (cdOffset + cdSize);
  if (zip64.recordOffset + zip64Shift !== recordAt) {
    throw corruptZip(archive, `the zip64 end of central directory locator points to offset ${zip64.recordOffset}, not to the record before it`);
  }
  // unzip looks for the zip64 record at the locator's offset without the shift first.
  if (zip64Shift > 0 && readAt(fd, zip64.recordOffset, 4).readUInt32LE(0) === sigZip64) {
    throw corruptZip(archive, `${zip64Shift} bytes precede the archive and another zip64 end record sits at the unshifted offset ${zip64.recordOffset}`);
  }
  return { count, cdSize, cdOffset, disk, cdDisk, recordAt };
}

/**
 * Where the central directory starts, the shift included, refusing whatever the two tools could
 * read differently (a split archive, a directory that does not fit or is not where it should be).
 */
function locateCentralDirectory(fd: number, layout: Layout, classicCdOffset: number, archive: string): EndRecord {
  const { disk, cdDisk, count, cdSize, cdOffset, recordAt } = layout;
  const shift = recordAt - (cdOffset + cdSize);
  const cdStart = cdOffset + shift;
  const signature = cdSize >= 4 && shift >= 0 ? readAt(fd, cdStart, 4) : Buffer.alloc(0);
  const atStart = signature.length === 4 ? signature.readUInt32LE(0) : -1;
  if (disk !== 0 || cdDisk !== 0) {
    // Random bytes holding PK\5\6 mostly have a non-zero "disk": say what is likelier.
    if (atStart !== sigCentral) throw new VerificationError(`${archive} is not a zip file, or is corrupt: its end record names disk ${disk} and no central directory is where it says`);
    throw new VerificationError(`zip ${archive} is one part of a split (multi-disk) archive: join the parts into one zip (zip -s 0) and deploy that`);
  }
  if (shift < 0) throw corruptZip(archive, `the central directory (${cdSize} bytes at offset ${cdOffset}) does not fit before the end record: ${-shift} bytes are missing (truncated or cut at the front?)`);
  if (count === 0 && cdSize === 0) return { count, cdSize, cdStart, shift };
  if (atStart === sigArchiveExtra) throw new VerificationError(`zip ${archive} has an encrypted central directory (PKWARE strong encryption): not supported, publish an unencrypted archive`);
  if (atStart !== sigCentral) {
    if (shift > 0) {
      const unshifted = readAt(fd, cdOffset, 4);
      const why = unshifted.length === 4 && unshifted.readUInt32LE(0) === sigCentral ? 'at its recorded offset, which leaves bytes unaccounted for between it and the end record' : 'anywhere';
      throw corruptZip(archive, `${shift} bytes precede the archive (self-extractor or padding?) but the central directory is not at the shifted offset ${cdStart}; found ${why}`);
    }
    throw corruptZip(archive, `bad central directory signature at offset ${cdStart}`);
  }
  if (shift > 0 && classicCdOffset === 0) {
    // zip -go wrote such archives: unzip then reads the offsets unshifted, Python shifted.
    throw corruptZip(archive, `${shift} bytes precede the archive and its central directory offset is 0: unzip and Python would read it differently`);
  }
  return { count, cdSize, cdStart, shift };
}

interface Zip64 {
  disk: number;
  cdDisk: number;
  count: number;
  cdSize: number;
  cdOffset: number;
  recordOffset: number;
}

/** The zip64 record, read where Python reads it (right before the locator), if a locator is there. */
function readZip64(fd: number, eocdAt: number, archive: string): Zip64 | 'none' | 'bad' {
  if (eocdAt < locatorSize) return 'none';
  const locator = readAt(fd, eocdAt - locatorSize, locatorSize);
  if (locator.readUInt32LE(0) !== sigLocator) return 'none';
  const totalDisks = locator.readUInt32LE(16);
  const recordAt = eocdAt - locatorSize - zip64RecordSize;
  const record = recordAt >= 0 ? readAt(fd, recordAt, zip64RecordSize) : Buffer.alloc(0);
  if (record.length < zip64RecordSize || record.readUInt32LE(0) !== sigZip64) {
    // unzip drops a locator whose disk count does not match the classic record (0 disks
    // here); Python drops any locator without a record: both read the classic record then.
    return totalDisks !== 1 ? 'none' : 'bad';
  }
  // unzip ignores a zip64 record when the locator's disk fields do not match a one-disk
  // archive; Python uses it anyway.
  if (totalDisks !== 1 || record.readUInt32LE(16) !== locator.readUInt32LE(4)) return 'bad';
  const field = (name: string, at: number) => u64(record, at, `the zip64 end record's ${name}`, archive);
  return {
    disk: record.readUInt32LE(16),
    cdDisk: record.readUInt32LE(20),
    count: field('entry count', 32),
    cdSize: field('central directory size', 40),
    cdOffset: field('central directory offset', 48),
    recordOffset: u64(locator, 8, "the zip64 locator's record offset", archive),
  };
}

/** A little-endian 64-bit field as a number; anything beyond 2^53 is corrupt for us. */
export function u64(buffer: Buffer, offset: number, field: string, archive: string): number {
  const value = buffer.readBigUInt64LE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new VerificationError(`corrupt zip ${archive}: 64-bit field out of range: ${field} is ${value}`);
  return Number(value);
}
