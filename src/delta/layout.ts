import type { CentralDirectory, RawEntry } from '../extract/central-directory.js';
import { ArchiveWindow } from '../extract/entry-data.js';
import { DeltaDoubt } from './source.js';

/**
 * Where things lie in an archive, as a delta download needs it: the bytes each entry occupies
 * (local header, data, data descriptor) and what identifies an entry's bytes across versions.
 * The archive itself is parsed by `extract/central-directory.ts`; this only looks at the
 * records it found.
 */

/** Bytes of the end-of-central-directory record, and of the zip64 record plus locator. */
const eocdSize = 22;
const zip64Size = 56 + 20;

/**
 * Where the central directory starts, from the archive's last bytes (`tail`, ending the file):
 * just enough to know which range to fetch. `readCentralDirectory` then judges the result.
 * Throws `DeltaDoubt` when the tail does not show an end record with a directory before it.
 */
export function directoryStart(tail: Buffer, tailStart: number): number {
  const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0 || eocd + eocdSize > tail.length) throw new DeltaDoubt('no end of central directory record in the archive\'s last bytes');
  let cdSize = tail.readUInt32LE(eocd + 12);
  let before = eocd;
  if (eocd >= zip64Size && tail.readUInt32LE(eocd - 20) === 0x07064b50) {
    // zip64: the record (56 bytes) and its locator (20) sit between directory and end record.
    before = eocd - zip64Size;
    if (tail.readUInt32LE(before) !== 0x06064b50) throw new DeltaDoubt('a zip64 locator without its record');
    cdSize = Number(tail.readBigUInt64LE(before + 40));
  }
  const start = tailStart + before - cdSize;
  if (start < 0 || !Number.isSafeInteger(start)) throw new DeltaDoubt('the central directory would start before the archive');
  return start;
}

/** One entry with the bytes it occupies: [offset, offset + length). */
export interface EntrySpan {
  entry: RawEntry;
  offset: number;
  length: number;
}

/**
 * Every entry's span, in file order: from its local header to the next entry's (the last one
 * to the central directory). Entries sharing or crossing bytes cannot be rebuilt piecewise.
 */
export function entrySpans(cd: CentralDirectory): EntrySpan[] {
  const sorted = [...cd.entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  return sorted.map((entry, i) => {
    const end = i + 1 < sorted.length ? sorted[i + 1]!.localHeaderOffset : cd.dataEnd;
    if (end <= entry.localHeaderOffset) throw new DeltaDoubt(`entries share bytes at offset ${entry.localHeaderOffset}`);
    return { entry, offset: entry.localHeaderOffset, length: end - entry.localHeaderOffset };
  });
}

/**
 * What identifies an entry's local header and data across two versions: its whole central
 * record except the external attributes (a mode change leaves the data alone) and the local
 * header offset (it moves when an earlier entry changes size). Name, sizes, CRC, method,
 * flags, DOS time and the extra fields (timestamps) all take part, and with them everything
 * the local header repeats; `rebuild.ts` checks each copied header against the new record.
 */
export function entryKey(read: (offset: number, length: number) => Buffer, entry: RawEntry): string {
  const fixed = read(entry.centralAt, 46);
  if (fixed.length < 46) throw new DeltaDoubt(`central record of ${JSON.stringify(entry.name)} is cut short`);
  const length = 46 + fixed.readUInt16LE(28) + fixed.readUInt16LE(30) + fixed.readUInt16LE(32);
  // A copy: `read` may hand out a view of a buffer it reuses.
  const record = Buffer.from(read(entry.centralAt, length));
  if (record.length < length) throw new DeltaDoubt(`central record of ${JSON.stringify(entry.name)} is cut short`);
  record.fill(0, 38, 46);
  return record.toString('base64');
}

/** Reads an archive's central records through one window: 1 MiB reads, not two per entry. */
export function centralReader(fd: number, cd: CentralDirectory): (offset: number, length: number) => Buffer {
  const window = new ArchiveWindow(fd, 1024 * 1024, cd.archiveSize);
  return (offset, length) => window.slice(offset, length);
}
