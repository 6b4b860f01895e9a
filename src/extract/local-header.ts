import { VerificationError } from '../errors.js';
import type { RawEntry } from './central-directory.js';
import { u64 } from './end-record.js';
import { parseExtra, type ExtraField } from './names.js';

/** What the local header adds to the central directory's view of an entry. */
export interface LocalHeader {
  /** Offset of the entry's data. */
  start: number;
  /** Modification time as `unzip` restores it; `undefined` when the DOS date is not a date. */
  mtime: Date | undefined;
}

/** Bytes of local extra field read with the header's fixed part (Info-ZIP writes 28). */
const extraGuess = 64;

/**
 * Reads an entry's local header through `read` and checks it against the central directory.
 * `unzip` takes the method, CRC and sizes from the local header (unless bit 3 defers them to
 * a data descriptor), Python's `zipfile` from the central directory, and Python refuses a
 * name that differs: any disagreement would let the two tools read different contents, so
 * it is refused. A data descriptor must repeat the central directory's CRC and sizes.
 */
export function readLocalHeader(entry: RawEntry, read: (offset: number, length: number) => Buffer, dataEnd: number, archive: string): LocalHeader {
  const refuse = (what: string) => new VerificationError(`corrupt zip ${archive}: entry ${JSON.stringify(entry.name)} ${what}`);
  // One read usually holds the whole header: the name is the central directory's, the extra
  // field rarely longer than `extraGuess`. (Two reads per entry were half the cost of
  // checking 20,000 headers.)
  const guess = read(entry.localHeaderOffset, 30 + entry.rawName.length + extraGuess);
  const header = guess.subarray(0, 30);
  if (header.length < 30 || header.readUInt32LE(0) !== 0x04034b50) throw refuse('has a bad local header');
  const flags = header.readUInt16LE(6);
  const method = header.readUInt16LE(8);
  const dosTime = header.readUInt16LE(10);
  const dosDate = header.readUInt16LE(12);
  let crc = header.readUInt32LE(14);
  let compressed = header.readUInt32LE(18);
  let uncompressed = header.readUInt32LE(22);
  const nameLength = header.readUInt16LE(26);
  const extraLength = header.readUInt16LE(28);
  const start = entry.localHeaderOffset + 30 + nameLength + extraLength;
  if (start + entry.compressedSize > dataEnd) throw refuse('extends past the entry data (truncated?)');
  const rest = guess.length >= 30 + nameLength + extraLength ? guess.subarray(30, 30 + nameLength + extraLength) : read(entry.localHeaderOffset + 30, nameLength + extraLength);
  if (!rest.subarray(0, nameLength).equals(entry.rawName)) throw refuse('has a different name in its local header');
  const extra = parseExtra(rest.subarray(nameLength));
  if (extra === null) throw refuse('has a local extra field whose length runs past its header');
  const mtime = mtimeOf(extra, dosDate, dosTime);

  if (method !== entry.method) throw refuse(`has compression method ${method} in its local header, ${entry.method} in the central directory`);
  if ((flags & 0x49) !== (entry.flags & 0x49)) throw refuse('has different encryption or data-descriptor flags in its local header');
  if (flags & 0x08) {
    // The descriptor may start with its own signature, and holds 8-byte sizes in zip64
    // archives: accept whichever layout repeats the central directory.
    const tail = read(start + entry.compressedSize, 24);
    const at = tail.length >= 4 && tail.readUInt32LE(0) === 0x08074b50 ? 4 : 0;
    const fits = (width: 4 | 8) => {
      if (tail.length < at + 4 + 2 * width) return false;
      const size = (o: number) => (width === 4 ? tail.readUInt32LE(o) : Number(tail.readBigUInt64LE(o)));
      return tail.readUInt32LE(at) === entry.crc32 && size(at + 4) === entry.compressedSize && size(at + 4 + width) === entry.uncompressedSize;
    };
    if (!fits(4) && !fits(8)) throw refuse('has a data descriptor whose CRC or sizes differ from the central directory');
    return { start, mtime };
  }
  const zip64 = extra.find((f) => f.id === 0x0001);
  if (zip64 && (uncompressed === 0xffffffff || compressed === 0xffffffff)) {
    let p = 0;
    const next = (field: string) => {
      if (p + 8 > zip64.body.length) throw refuse(`has a local zip64 extra field too short for its ${field}`);
      const value = u64(zip64.body, p, `local ${field} of entry ${JSON.stringify(entry.name)}`, archive);
      p += 8;
      return value;
    };
    if (uncompressed === 0xffffffff) uncompressed = next('uncompressed size');
    if (compressed === 0xffffffff) compressed = next('compressed size');
  }
  if (crc !== entry.crc32) throw refuse('has a different CRC in its local header than in the central directory');
  if (compressed !== entry.compressedSize || uncompressed !== entry.uncompressedSize) {
    throw refuse(`has sizes ${compressed}/${uncompressed} in its local header, ${entry.compressedSize}/${entry.uncompressedSize} in the central directory`);
  }
  return { start, mtime };
}

/**
 * As `unzip` sets it: the extended timestamp (0x5455, UTC seconds) when the local header has
 * one, else the older Info-ZIP unix field (0x5855), else the DOS date and time read as local
 * time. The 32-bit seconds are signed, except past 2038 by the DOS date, where unzip reads
 * them unsigned.
 */
function mtimeOf(extra: readonly ExtraField[], dosDate: number, dosTime: number): Date | undefined {
  const year = (dosDate >> 9) + 1980;
  const month = (dosDate >> 5) & 0x0f;
  const day = dosDate & 0x1f;
  const seconds = (value: number) => (value < 0 && year >= 2038 ? value + 2 ** 32 : value);
  const ut = extra.find((f) => f.id === 0x5455);
  if (ut && ut.body.length >= 5 && ut.body[0]! & 1) return new Date(seconds(ut.body.readInt32LE(1)) * 1000);
  const ux = extra.find((f) => f.id === 0x5855);
  if (ux && ux.body.length >= 8) return new Date(seconds(ux.body.readInt32LE(4)) * 1000);
  if (month < 1 || month > 12 || day < 1) return undefined;
  return new Date(year, month - 1, day, dosTime >> 11, (dosTime >> 5) & 0x3f, (dosTime & 0x1f) * 2);
}
