import { fstatSync } from 'node:fs';
import { VerificationError } from '../errors.js';
import { readEndRecord, sigCentral, u64 } from './end-record.js';
import { decodeName, parseExtra } from './names.js';
import { readAt } from './read-at.js';


/** One entry as the central directory describes it, before any safety rule is applied. */
export interface RawEntry {
  /** Name as `unzip` reads it (UTF-8, Unicode Path field or CP437), not yet checked or normalised. */
  name: string;
  /** Name bytes as stored: the local header must hold the same. */
  rawName: Buffer;
  /** The raw name held a NUL byte (the decoded string keeps it, but we say so explicitly). */
  hasNul: boolean;
  /** Upper byte of "version made by": 3 is unix, 19 is macOS; others carry no unix modes. */
  madeBy: number;
  /** General purpose flags (bit 0: encrypted, bit 3: data descriptor, bit 6: strong encryption). */
  flags: number;
  /** Compression method: 0 stored, 8 deflate. */
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** External attributes: unix mode in the upper 16 bits, MS-DOS attributes in the lower. */
  externalAttributes: number;
  /** Offset of the local file header in the file (any data before the archive included). */
  localHeaderOffset: number;
  /** Offset of this entry's central directory record in the file (delta downloads compare records). */
  centralAt: number;
}

/** The archive's layout: where the entry data may live and what the central directory holds. */
export interface CentralDirectory {
  /** Size of the archive file in bytes. */
  archiveSize: number;
  /** Offset where the central directory starts: all entry data must end before it. */
  dataEnd: number;
  /** Bytes of other data before the archive (self-extractor stub, padding). */
  shift: number;
  entries: RawEntry[];
}

const chunk = 1024 * 1024;

/**
 * Reads the last end-of-central-directory record (see `readEndRecord`) and parses the central
 * directory in 1 MiB chunks, so a huge directory does not become one huge buffer. Rejects an
 * archive that declares more than `maxEntries` entries before parsing any of them, and one
 * whose entry count and directory size disagree (unzip reads by count, Python by size).
 */
export function readCentralDirectory(fd: number, archive: string, maxEntries: number): CentralDirectory {
  const corrupt = (what: string) => new VerificationError(`corrupt zip ${archive}: ${what}`);
  const archiveSize = fstatSync(fd).size;
  const { count, cdSize, cdStart, shift } = readEndRecord(fd, archiveSize, archive);
  if (count > maxEntries) {
    throw new VerificationError(`zip ${archive} has ${count} entries, more than the limit of ${maxEntries}`);
  }

  const entries: RawEntry[] = [];
  let buffer = Buffer.alloc(0);
  let at = 0; // position of buffer[0] relative to cdStart
  let pos = 0; // parse position relative to cdStart
  const ensure = (n: number, i: number): Buffer => {
    if (pos + n > cdSize) throw corrupt(`central directory is cut short at entry ${i} of ${count} (its size says ${cdSize} bytes)`);
    if (pos + n > at + buffer.length) {
      const keep = buffer.subarray(pos - at);
      const more = readAt(fd, cdStart + at + buffer.length, Math.min(Math.max(chunk, n), cdSize - at - buffer.length));
      buffer = Buffer.concat([keep, more]);
      at = pos;
    }
    return buffer;
  };
  for (let i = 0; i < count; i++) {
    let b = ensure(46, i);
    let o = pos - at;
    if (b.readUInt32LE(o) !== sigCentral) throw corrupt(`bad central directory signature at entry ${i}`);
    const nameLength = b.readUInt16LE(o + 28);
    const extraLength = b.readUInt16LE(o + 30);
    const total = 46 + nameLength + extraLength + b.readUInt16LE(o + 32);
    b = ensure(total, i);
    o = pos - at;
    const entry = parseEntry(b.subarray(o, o + total), nameLength, extraLength, archive);
    entry.centralAt = cdStart + pos;
    entry.localHeaderOffset += shift;
    entries.push(entry);
    pos += total;
  }
  if (pos !== cdSize) throw corrupt(`the central directory holds ${cdSize - pos} bytes beyond its ${count} entries (entry count and size disagree)`);
  return { archiveSize, dataEnd: cdStart, shift, entries };
}

/** One central directory record (`record` holds exactly it), its zip64 sizes applied. */
function parseEntry(record: Buffer, nameLength: number, extraLength: number, archive: string): RawEntry {
  const corrupt = (what: string) => new VerificationError(`corrupt zip ${archive}: ${what}`);
  const rawName = Buffer.from(record.subarray(46, 46 + nameLength));
  const flags = record.readUInt16LE(8);
  // For messages only: built when one is thrown, not for every entry.
  const shown = () => JSON.stringify(rawName.toString('latin1'));
  const extra = parseExtra(record.subarray(46 + nameLength, 46 + nameLength + extraLength));
  if (extra === null) throw corrupt(`entry ${shown()} has an extra field whose length runs past its record`);
  const name = decodeName(rawName, flags, extra, record.readUInt8(5));
  if (name === null) throw corrupt(`entry ${shown()} is flagged UTF-8 but its name is not valid UTF-8`);
  const entry: RawEntry = {
    name,
    rawName,
    hasNul: rawName.includes(0),
    madeBy: record.readUInt8(5),
    flags,
    method: record.readUInt16LE(10),
    crc32: record.readUInt32LE(16),
    compressedSize: record.readUInt32LE(20),
    uncompressedSize: record.readUInt32LE(24),
    externalAttributes: record.readUInt32LE(38),
    localHeaderOffset: record.readUInt32LE(42),
    centralAt: 0,
  };
  const zip64 = extra.filter((f) => f.id === 0x0001);
  if (zip64.length > 1) throw corrupt(`entry ${JSON.stringify(name)} has ${zip64.length} zip64 extra fields`);
  if (zip64[0]) applyZip64(entry, zip64[0].body, archive);
  return entry;
}

/**
 * Replaces saturated 32-bit fields with their zip64 extra-field values, in the spec's order.
 * A saturated field without a zip64 field is a literal 0xffffffff, as `unzip` and Python read it.
 */
function applyZip64(entry: RawEntry, body: Buffer, archive: string): void {
  let p = 0;
  const next = (field: string): number => {
    if (p + 8 > body.length) throw new VerificationError(`corrupt zip ${archive}: entry ${JSON.stringify(entry.name)} has a zip64 extra field too short for its ${field}`);
    const v = u64(body, p, `${field} of entry ${JSON.stringify(entry.name)}`, archive);
    p += 8;
    return v;
  };
  if (entry.uncompressedSize === 0xffffffff) entry.uncompressedSize = next('uncompressed size');
  if (entry.compressedSize === 0xffffffff) entry.compressedSize = next('compressed size');
  if (entry.localHeaderOffset === 0xffffffff) entry.localHeaderOffset = next('local header offset');
}
