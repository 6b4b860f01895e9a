import { constants, createReadStream, createWriteStream, type Stats } from 'node:fs';
import { copyFile, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw } from 'node:zlib';
import type { Limits } from '../config/types.js';
import { messageOf } from '../errors.js';
import { readCentralDirectory, type CentralDirectory, type RawEntry } from '../extract/central-directory.js';
import { checkContent, decodeAsync } from '../extract/entry-data.js';
import { readLocalHeader } from '../extract/local-header.js';
import { readAt } from '../extract/read-at.js';
import { diskCodeOf, diskError } from '../util/disk-errors.js';
import { privateFileMode } from '../util/modes.js';
import { directoryStart } from './layout.js';
import { planDelta, type CopyPiece, type DeltaPlan } from './plan.js';
import { DeltaDoubt, lostArchive, type RangeSource } from './source.js';
import { inParallel } from '../util/in-parallel.js';
import { hashRanges } from './hash-ranges.js';

/** Options for `rebuildArchive`. */
export interface RebuildOptions {
  /** The cached archive of the previous version. */
  previous: string;
  /** Where the new archive is written; the caller verifies it and moves it into place. */
  output: string;
  /** Size of the new archive, as the check saw it. */
  total: number;
  /** Ranges of the new archive. */
  source: RangeSource;
  limits: Limits;
  /** Remote URL without credentials, for messages. */
  display: string;
  /** Range requests in flight at once (default 4). */
  parallel?: number;
  signal?: AbortSignal;
  /**
   * Makes `output` a copy of `previous` that shares its blocks, or throws. Default: a reflink
   * (`COPYFILE_FICLONE_FORCE`), which XFS and btrfs make without writing any data and ext4 and
   * tmpfs refuse (see `startFromPrevious` for what happens then).
   */
  cloneArchive?: (previous: string, output: string) => Promise<void>;
  /** Copies `previous` to `output` whole where there is no reflink. Default: `copyFile` (copy_file_range). */
  copyArchive?: (previous: string, output: string) => Promise<void>;
  /**
   * Where there is no reflink, the previous archive may become the new one (renamed to
   * `output` and rewritten from its first change on) instead of being copied: the bytes it
   * holds in place are then neither copied nor flushed again. The bytes it must give up that
   * the new archive still needs (entries that moved) are first saved in this file, removed
   * afterwards. Unset: the previous archive is never changed. The caller must be the only one
   * using it (see `attemptDelta`); a failure after the rename leaves no cached archive, which
   * only means the next version is downloaded whole.
   */
  consumePrevious?: { moved: string };
  /**
   * Called once every byte of `output` is in place, before the local headers and fetched
   * entries are checked and the whole archive is hashed: what the caller overlaps with those
   * must not trust the bytes yet (a failed check or hash ends the rebuild, and they are
   * verified only after it). With how the archive started.
   */
  onPlaced?: (startedAs: ArchiveStart) => void;
}

/** A rebuilt archive. */
export interface RebuildResult {
  /** sha256 of the whole new archive, hex. */
  sha256: string;
  /** Size of the new archive. */
  bytes: number;
  /** Bytes received from the remote. */
  fetchedBytes: number;
  /** Range requests made. */
  requests: number;
  entries: number;
  /** Entries copied from the previous archive. */
  reusedEntries: number;
  /**
   * How the new archive was started: `reflink`, a clone of the previous one (no data
   * written); `copy`, a copy of it made by the kernel; `in-place`, the previous archive itself
   * (see `consumePrevious`); `none`, an empty file.
   */
  startedAs: ArchiveStart;
  /** Bytes the start already held at their place in the new archive: read for the hash, not written. */
  bytesInPlace: number;
}

/** See `RebuildResult.startedAs`. */
export type ArchiveStart = 'reflink' | 'copy' | 'in-place' | 'none';

/** The directory is usually about as large as last time: fetched with the end record in one range. */
const minTail = 0xffff + 22 + 76;

/**
 * Rebuilds the new version of an archive byte for byte from the previous one plus the ranges
 * that differ: fetches the end records and central directory, parses them with the extractor's
 * own parser, copies unchanged entries, fetches the rest, then checks every local header
 * against the new directory and the CRC of every fetched entry. Throws `DeltaDoubt` (the
 * caller downloads the whole archive instead) for anything unexpected; disk errors and an
 * abort are thrown as they are. `output` is removed on failure.
 */
export async function rebuildArchive(options: RebuildOptions): Promise<RebuildResult> {
  const { total, display } = options;
  const controller = new AbortController();
  const stop = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', stop, { once: true });
  const counters = { bytes: 0, requests: 0 };
  let previous: FileHandle | undefined;
  let out: FileHandle | undefined;
  let moved: Moved | undefined;
  try {
    previous = await open(options.previous, 'r').catch(lost);
    out = await open(options.output, 'w+', privateFileMode);
    await out.truncate(total);
    const fetch = (start: number, end: number) => fetchRange(options, controller.signal, counters, start, end);
    const before = readCentralDirectory(previous.fd, options.previous, options.limits.maxEntries);
    const tailLength = Math.min(total, Math.max(minTail, Math.ceil((before.archiveSize - before.dataEnd) * 1.25) + 4096));
    await fetch(total - tailLength, total);
    const cdStart = directoryStart(readAt(out.fd, total - tailLength, tailLength), total - tailLength);
    if (cdStart < total - tailLength) await fetch(cdStart, total - tailLength);
    const next = readCentralDirectory(out.fd, display, options.limits.maxEntries);
    if (next.dataEnd !== cdStart) throw new DeltaDoubt(`the central directory starts at ${next.dataEnd}, not at ${cdStart}`);
    const plan = planDelta(before, previous.fd, next, out.fd);
    // Only the end of the file (from `fetched` on) is written yet.
    const fetched = Math.min(cdStart, total - tailLength);
    let startedAs: ArchiveStart;
    ({ out, startedAs, moved } = await startFromPrevious(options, { previous, out, plan, fetched, signal: controller.signal }));
    await inParallel(plan.fetch, options.parallel ?? 4, (range) => fetch(range.start, range.end), controller);
    const layout = { total, startedAs, fetched };
    const inPlace = moved
      ? await copyPieces(moved.handle, out, moved.pieces, { total, startedAs: 'none', fetched }, controller.signal).then(() => moved!.inPlace)
      : await copyPieces(previous, out, plan.copy, layout, controller.signal);
    await moved?.drop();
    // Every byte is in place: the extraction may clone the unchanged files meanwhile.
    options.onPlaced?.(startedAs);
    const sha256 = await hashWhileChecking(options, { previous, out, next, plan, layout }, controller);
    return { sha256, bytes: total, fetchedBytes: counters.bytes, requests: counters.requests, entries: next.entries.length, reusedEntries: plan.reusedEntries, startedAs, bytesInPlace: inPlace };
  } catch (error) {
    await out?.close().catch(() => undefined);
    out = undefined;
    await rm(options.output, { force: true });
    if (options.signal?.aborted) throw error;
    if (diskCodeOf(error)) throw diskError(error, options.output);
    throw error instanceof DeltaDoubt ? error : new DeltaDoubt(messageOf(error), { cause: error });
  } finally {
    options.signal?.removeEventListener('abort', stop);
    await moved?.drop();
    await previous?.close();
    await out?.close();
  }
}

/**
 * The archive's hash (on a worker thread) while this thread checks the local headers and the
 * fetched entries: both only read. A failure of either stops the other, which is awaited
 * before the caller closes the descriptors.
 */
async function hashWhileChecking(
  options: RebuildOptions,
  at: { previous: FileHandle; out: FileHandle; next: CentralDirectory; plan: DeltaPlan; layout: Layout },
  controller: AbortController,
): Promise<string> {
  const hashing = hashArchive(at.previous, at.out, at.plan.copy, at.layout, controller.signal);
  hashing.catch((error: unknown) => controller.abort(error));
  try {
    await checkEntries(at.next, options.output, at.out.fd, at.plan.fetchedEntries, options.display, controller.signal);
  } catch (error) {
    controller.abort(error);
    await hashing.catch(() => undefined);
    throw controller.signal.reason ?? error;
  }
  return await hashing;
}

/** The bytes at the start of `copy` that a copy of the previous archive holds in place: below `end`, at the offset they had. */
function inPlaceLength(copy: CopyPiece, end: number): number {
  return copy.from === copy.to ? Math.max(0, Math.min(copy.length, end - copy.to)) : 0;
}

/**
 * Restarts `options.output` (which holds only its end, from `fetched` on) as a copy of the
 * previous archive when entries sit at the offsets they had there (in a zip rebuilt after a
 * change, everything before the first change does): those bytes are then in place already.
 * A reflink where the filesystem has them (XFS, btrfs) copies no data and is always worth it;
 * otherwise a kernel copy (`copyFile`: copy_file_range, no pass through the agent; 707 MiB in
 * 0.2-0.45 s on ext4 here, where reading and writing them took 1.2-2.5 s) when at least half
 * the archive is in place (it copies the whole previous archive: a disk too full for that
 * only means the archive is written whole). With `consumePrevious`, instead of that copy the
 * previous archive itself is renamed to `output` once what moves is set aside (`saveMoved`):
 * neither copied nor flushed again. The copy is of the file open as `previous`
 * (through /proc), so after a reflink the bytes hashed from that descriptor are the ones
 * cloned even if the cache's file is replaced meanwhile. Returns the handle to write through
 * from now on.
 */
async function startFromPrevious(
  options: RebuildOptions,
  at: { previous: FileHandle; out: FileHandle; plan: DeltaPlan; fetched: number; signal: AbortSignal },
): Promise<{ out: FileHandle; startedAs: ArchiveStart; moved?: Moved }> {
  const { total, output } = options;
  const inPlace = at.plan.copy.reduce((sum, copy) => sum + inPlaceLength(copy, at.fetched), 0);
  if (inPlace === 0) return { out: at.out, startedAs: 'none' };
  const end = readAt(at.out.fd, at.fetched, total - at.fetched);
  await at.out.close();
  const source = `/proc/self/fd/${at.previous.fd}`;
  let startedAs: ArchiveStart = 'none';
  let moved: Moved | undefined;
  try {
    await (options.cloneArchive ?? reflink)(source, output);
    startedAs = 'reflink';
  } catch {
    if (inPlace * 2 >= total && options.consumePrevious) {
      moved = await saveMoved(at.previous, at.plan.copy, at.fetched, options.consumePrevious.moved, inPlace, at.signal);
      // From here on the cached archive is no longer the previous version's: it no longer has
      // its name (its record names a file that is gone: the next fetch downloads whole).
      await rename(options.previous, output).catch(async (error: unknown) => {
        await moved?.drop();
        return lost(error);
      });
      startedAs = 'in-place';
    } else if (inPlace * 2 >= total) {
      await (options.copyArchive ?? copyFile)(source, output).then(() => (startedAs = 'copy'), () => undefined);
    }
  }
  let out: FileHandle | undefined;
  try {
    out = await open(output, startedAs === 'none' ? 'w+' : 'r+', privateFileMode);
    // The rename moved the file by its name: it must be the one read as `previous` (a full
    // download of another app sharing the cache may have replaced it meanwhile).
    if (startedAs === 'in-place' && !sameFile(await out.stat(), await at.previous.stat())) {
      await rename(output, options.previous).catch(() => undefined);
      throw new DeltaDoubt('the cached archive was replaced while it was being rebuilt');
    }
    if (startedAs !== 'none') await out.chmod(privateFileMode);
    await out.truncate(total);
    await writeFully(out, end, end.length, at.fetched);
    return { out, startedAs, ...(moved ? { moved } : {}) };
  } catch (error) {
    await out?.close().catch(() => undefined);
    await moved?.drop();
    throw error;
  }
}

const sameFile = (a: Stats, b: Stats) => a.dev === b.dev && a.ino === b.ino;

/** A previous archive gone from the cache (another app's download pruned it) is a doubt, not a failure. */
function lost(error: unknown): never {
  throw (error as NodeJS.ErrnoException).code === 'ENOENT' ? new DeltaDoubt(lostArchive, { cause: error }) : error;
}

/**
 * The bytes of the previous archive an in-place rebuild overwrites or cuts off while the new
 * archive still needs them (entries that moved, and copies that reach past `fetched`), saved
 * in a side file, with the pieces that put them back.
 */
interface Moved {
  handle: FileHandle;
  /** Copies from the side file into the new archive. */
  pieces: CopyPiece[];
  /** Bytes left where they were. */
  inPlace: number;
  /** Closes and removes the side file. */
  drop(): Promise<void>;
}

/** Saves what `copies` need beyond the bytes they keep in place (below `fetched`) into `path`. */
async function saveMoved(previous: FileHandle, copies: CopyPiece[], fetched: number, path: string, inPlace: number, signal: AbortSignal): Promise<Moved> {
  const toSide: CopyPiece[] = [];
  const pieces: CopyPiece[] = [];
  let size = 0;
  for (const copy of copies) {
    const kept = inPlaceLength(copy, fetched);
    if (kept === copy.length) continue;
    toSide.push({ from: copy.from + kept, to: size, length: copy.length - kept });
    pieces.push({ from: size, to: copy.to + kept, length: copy.length - kept });
    size += copy.length - kept;
  }
  const handle = await open(path, 'w+', privateFileMode);
  let dropped: Promise<void> | undefined;
  const drop = () => (dropped ??= handle.close().catch(() => undefined).then(() => rm(path, { force: true })));
  try {
    await copyPieces(previous, handle, toSide, { total: size, startedAs: 'none', fetched: 0 }, signal);
    return { handle, pieces, inPlace, drop };
  } catch (error) {
    await drop();
    throw error;
  }
}

const reflink = (from: string, to: string) => copyFile(from, to, constants.COPYFILE_FICLONE_FORCE);

/**
 * Writes `length` bytes of `buffer` at `position`. A write that fills the disk writes what
 * fits and says how much, without an error: the rest is written again, which then fails with
 * ENOSPC instead of leaving a short archive to be taken for a corrupt download.
 */
async function writeFully(handle: FileHandle, buffer: Buffer, length: number, position: number): Promise<void> {
  for (let done = 0; done < length; ) {
    const { bytesWritten } = await handle.write(buffer, done, length - done, position + done);
    if (bytesWritten === 0) throw new Error(`writing at byte ${position + done} wrote nothing`);
    done += bytesWritten;
  }
}

/** Fetches [start, end) of the new archive into the same bytes of `options.output`. */
async function fetchRange(options: RebuildOptions, signal: AbortSignal, counters: { bytes: number; requests: number }, start: number, end: number): Promise<void> {
  counters.requests++;
  const body = await options.source.open(start, end, signal);
  let got = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      got += chunk.length;
      counters.bytes += chunk.length;
      done(got > end - start ? new DeltaDoubt(`bytes ${start}-${end - 1}: the remote sent more than asked`) : null, chunk);
    },
  });
  await pipeline(body, meter, createWriteStream(options.output, { flags: 'r+', start }), { signal });
  if (got !== end - start) throw new DeltaDoubt(`bytes ${start}-${end - 1}: the remote sent ${got} of ${end - start}`);
}

/** Where the bytes of the new archive are read from for the hash, and which are in place already. */
interface Layout {
  total: number;
  startedAs: ArchiveStart;
  /** Below this only the planned fetches wrote (see `startFromPrevious`). */
  fetched: number;
}

const chunkBytes = 4 * 1024 * 1024;

/**
 * Copies the unchanged entries into place. When `out` started as a copy of `previous`
 * (`startedAs`), bytes below `fetched` that a copy would put back at the same offset are there
 * already and are not written; returns how many. Two buffers take turns, so the next read
 * runs while the last chunk is written.
 */
async function copyPieces(previous: FileHandle, out: FileHandle, copies: CopyPiece[], layout: Layout, signal: AbortSignal): Promise<number> {
  const inPlaceEnd = layout.startedAs === 'none' ? 0 : layout.fetched;
  const buffers = [Buffer.allocUnsafe(chunkBytes), Buffer.allocUnsafe(chunkBytes)];
  let turn = 0;
  let writing: Promise<unknown> = Promise.resolve();
  let inPlace = 0;
  for (const copy of copies) {
    const kept = inPlaceLength(copy, inPlaceEnd);
    inPlace += kept;
    for (let done = kept; done < copy.length; ) {
      signal.throwIfAborted();
      const buffer = buffers[(turn ^= 1)]!;
      const want = Math.min(buffer.length, copy.length - done);
      const { bytesRead } = await previous.read(buffer, 0, want, copy.from + done);
      if (bytesRead !== want) throw new DeltaDoubt(`the cached archive ended early at ${copy.from + done + bytesRead}`);
      // The other buffer's write must end before this one is handed out again.
      await writing;
      writing = writeFully(out, buffer, want, copy.to + done);
      // Awaited before the next chunk; a failure meanwhile must not go unhandled.
      writing.catch(() => undefined);
      done += want;
    }
  }
  await writing;
  return inPlace;
}

/**
 * The sha256 of the whole new archive, front to back, on a worker thread. Bytes a reflink kept
 * in place are read from `previous` (one extent shared by both: its pages are likelier cached
 * under the old file); all others from `out`, including those a kernel copy put there (the
 * kernel's work, hashed as it is, as every byte the caller verifies by this hash must be) and
 * those an in-place start left (`out` is then the previous archive itself).
 */
async function hashArchive(previous: FileHandle, out: FileHandle, copies: CopyPiece[], layout: Layout, signal: AbortSignal): Promise<string> {
  const ranges: Array<{ from: FileHandle; at: number; length: number }> = [];
  const add = (from: FileHandle, at: number, length: number) => {
    const last = ranges.at(-1);
    if (last && last.from === from && last.at + last.length === at) last.length += length;
    else if (length > 0) ranges.push({ from, at, length });
  };
  let position = 0;
  if (layout.startedAs === 'reflink') {
    for (const copy of [...copies].sort((a, b) => a.to - b.to)) {
      add(out, position, copy.to - position);
      const kept = inPlaceLength(copy, layout.fetched);
      add(previous, copy.to, kept);
      add(out, copy.to + kept, copy.length - kept);
      position = copy.to + copy.length;
    }
  }
  add(out, position, layout.total - position);
  try {
    return await hashRanges(ranges.map(({ from, at, length }) => ({ fd: from.fd, at, length })), signal);
  } catch (error) {
    if (signal.aborted || diskCodeOf(error)) throw error;
    throw new DeltaDoubt(`hashing the rebuilt archive: ${messageOf(error)}`, { cause: error });
  }
}

/** Fetched entries larger than this are checked streaming, not inflated whole in memory. */
const wholeEntryLimit = 8 * 1024 * 1024;

/** Every local header must match the new directory; every fetched entry's data its CRC. */
async function checkEntries(next: CentralDirectory, file: string, fd: number, fetched: RawEntry[], display: string, signal: AbortSignal): Promise<void> {
  const read = (offset: number, length: number) => readAt(fd, offset, length);
  const starts = new Map<RawEntry, number>();
  for (const entry of next.entries) starts.set(entry, readLocalHeader(entry, read, next.dataEnd, display).start);
  for (const entry of fetched) {
    signal.throwIfAborted();
    // Encrypted entries and unknown methods: the extractor refuses them with its own message.
    if (entry.flags & 0x41 || (entry.method !== 0 && entry.method !== 8)) continue;
    const start = starts.get(entry)!;
    if (entry.uncompressedSize <= wholeEntryLimit) await decodeAsync(entry, readAt(fd, start, entry.compressedSize), display);
    else await checkStreaming(entry, file, start, display, signal);
  }
}

/** Inflates (or reads) a large entry chunk by chunk, checking its size and CRC-32. */
async function checkStreaming(entry: RawEntry, file: string, start: number, display: string, signal: AbortSignal): Promise<void> {
  let crc = 0;
  let length = 0;
  const consume = async (chunks: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of chunks) {
      crc = crc32(chunk, crc);
      length += chunk.length;
      if (length > entry.uncompressedSize) throw new DeltaDoubt(`entry ${JSON.stringify(entry.name)} inflates beyond its declared size`);
    }
  };
  const source = createReadStream(file, { start, end: start + entry.compressedSize - 1 });
  if (entry.method === 8) await pipeline(source, createInflateRaw(), consume, { signal });
  else await pipeline(source, consume, { signal });
  checkContent(entry, length, crc, display);
}
