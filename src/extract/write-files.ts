import { once } from 'node:events';
import { closeSync, constants, fchmodSync, futimesSync, openSync, read, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { crc32, createInflateRaw } from 'node:zlib';
import { VerificationError } from '../errors.js';
import { ArchiveWindow, checkContent, decodeAsync, decodeSync } from './entry-data.js';
import { readLocalHeader } from './local-header.js';
import { ChunkGarbage } from './release-memory.js';
import type { PlannedEntry } from './plan.js';

/** What the file writer needs to know about the extraction in progress. */
export interface WriteContext {
  fd: number;
  archive: string;
  dest: string;
  /** Offset where the central directory starts. */
  dataEnd: number;
  /** Largest total of inflated bytes accepted. */
  maxUnpackedBytes: number;
  signal?: AbortSignal;
}

/** Entries up to this compressed size are read through the window and inflated in one go. */
const wholeEntryMax = 1024 * 1024;
/** Below this, inflating on the main thread is cheaper than a round trip to the thread pool. */
const syncInflateMax = 32 * 1024;
/** Inflations running on the thread pool at once (bounds memory: each holds one entry). */
const maxInFlight = 4;
const windowSize = 4 * 1024 * 1024;
const streamChunk = 1024 * 1024;
const readAsync = promisify(read);
// O_EXCL refuses anything already at the path, O_NOFOLLOW any symlink there: belt and braces,
// since symlinks are only created after every file has been written.
const openFlags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Writes every regular file, reading the archive front to back. Small entries are read through
 * a shared window and inflated whole (several at once on the thread pool); large ones are
 * streamed in 1 MiB chunks. Files are not fsynced: the pipeline syncs the release once.
 */
export async function writeFiles(files: readonly PlannedEntry[], ctx: WriteContext): Promise<{ files: number; bytes: number }> {
  const window = new ArchiveWindow(ctx.fd, windowSize, ctx.dataEnd);
  const read = (offset: number, length: number) => window.slice(offset, length);
  const umask = process.umask();
  let bytes = 0;
  const account = (n: number) => {
    bytes += n;
    if (bytes > ctx.maxUnpackedBytes) throw new VerificationError(`zip ${ctx.archive} unpacks to more than the limit of ${ctx.maxUnpackedBytes} bytes`);
  };
  const { garbage } = scratchOf(ctx);
  const write = (file: PlannedEntry, data: Buffer, mtime: Date | undefined) => {
    account(data.length);
    writeFile(join(ctx.dest, file.path), data, file.mode, umask, mtime);
    garbage.dropped(data.length + file.entry.compressedSize);
  };

  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const settle = async () => {
    await Promise.race(inFlight);
    if (failure !== undefined) throw failure;
  };
  let sinceYield = 0;
  try {
    for (const file of files) {
      // Small entries are written synchronously; without a turn of the event loop now and
      // then, an abort (SIGTERM) would only be seen at the end of a long run of them.
      if (++sinceYield % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
      if (ctx.signal?.aborted) throw ctx.signal.reason;
      if (failure !== undefined) throw failure;
      const { entry } = file;
      if (entry.compressedSize > wholeEntryMax) {
        const { start, mtime } = readLocalHeader(entry, read, ctx.dataEnd, ctx.archive);
        await streamEntry(file, start, mtime, ctx, umask, account);
        continue;
      }
      const { start, mtime } = readLocalHeader(entry, read, ctx.dataEnd, ctx.archive);
      const compressed = read(start, entry.compressedSize);
      if (entry.method !== 8 || entry.compressedSize <= syncInflateMax) {
        write(file, decodeSync(entry, compressed, ctx.archive), mtime);
        continue;
      }
      while (inFlight.size >= maxInFlight) await settle();
      // A copy: the window's buffer is refilled while this entry inflates on the thread pool.
      const job: Promise<void> = decodeAsync(entry, Buffer.from(compressed), ctx.archive)
        .then((data) => write(file, data, mtime))
        .catch((error: unknown) => void (failure ??= error))
        .finally(() => inFlight.delete(job));
      inFlight.add(job);
    }
    while (inFlight.size > 0) await settle();
  } finally {
    // Never return (or let the caller remove `dest`) while a write may still be pending.
    await Promise.allSettled(inFlight);
  }
  if (failure !== undefined) throw failure;
  return { files: files.length, bytes };
}

/**
 * What one extraction reuses across entries: the two read buffers of the streamed entries
 * (fresh ones per entry were 2 MiB of garbage each) and the garbage count.
 */
const scratches = new WeakMap<WriteContext, { buffers: [Buffer, Buffer]; garbage: ChunkGarbage }>();
function scratchOf(ctx: WriteContext): { buffers: [Buffer, Buffer]; garbage: ChunkGarbage } {
  let scratch = scratches.get(ctx);
  if (!scratch) {
    scratch = { buffers: [Buffer.allocUnsafe(streamChunk), Buffer.allocUnsafe(streamChunk)], garbage: new ChunkGarbage() };
    scratches.set(ctx, scratch);
  }
  return scratch;
}

/** Creates one file with its final mode; chmod only when the umask would have narrowed it. */
function writeFile(path: string, data: Buffer, mode: number, umask: number, mtime: Date | undefined): void {
  const out = openSync(path, openFlags, mode);
  try {
    writeAll(out, data);
    // The archive's time, not the deploy's: ETags, Last-Modified and .pyc checks stay stable.
    if (mtime) futimesSync(out, mtime, mtime);
    if ((mode & ~umask) !== mode) fchmodSync(out, mode);
  } finally {
    closeSync(out);
  }
}

function writeAll(out: number, data: Buffer): void {
  for (let done = 0; done < data.length; ) done += writeSync(out, data, done, data.length - done);
}

/** Streams one large entry to disk, checking size, CRC and the running byte count. */
async function streamEntry(file: PlannedEntry, start: number, mtime: Date | undefined, ctx: WriteContext, umask: number, account: (n: number) => void): Promise<void> {
  const { entry } = file;
  const out = openSync(join(ctx.dest, file.path), openFlags, file.mode);
  try {
    let crc = 0;
    let length = 0;
    const consume = (chunk: Buffer) => {
      length += chunk.length;
      if (length > entry.uncompressedSize) {
        throw new VerificationError(`corrupt zip ${ctx.archive}: entry ${JSON.stringify(entry.name)} inflates beyond its declared size`);
      }
      account(chunk.length);
      crc = crc32(chunk, crc);
      writeAll(out, chunk);
    };
    try {
      if (entry.method === 8) await inflateStream(start, entry.compressedSize, ctx, consume);
      else await copyStored(start, entry.compressedSize, ctx, consume);
    } catch (error) {
      if (ctx.signal?.aborted) throw ctx.signal.reason;
      if (error instanceof VerificationError) throw error;
      throw new VerificationError(`corrupt zip ${ctx.archive}: entry ${JSON.stringify(entry.name)} cannot be inflated: ${(error as Error).message}`, { cause: error });
    }
    checkContent(entry, length, crc, ctx.archive);
    if (mtime) futimesSync(out, mtime, mtime);
    if ((file.mode & ~umask) !== file.mode) fchmodSync(out, file.mode);
  } finally {
    closeSync(out);
  }
}

/**
 * Reads `size` bytes from `start` through two reused buffers: the next chunk is read on the
 * thread pool while `handle` checks and writes this one. No per-chunk allocation, so RSS
 * stays flat however big the entry. `handle` must be done with a chunk when its promise
 * settles: the buffer is read into again after that.
 */
async function readDoubleBuffered(start: number, size: number, ctx: WriteContext, handle: (chunk: Buffer) => void | Promise<void>): Promise<void> {
  const { buffers } = scratchOf(ctx);
  const readChunk = (at: number, into: Buffer) => readAsync(ctx.fd, into, 0, Math.min(streamChunk, size - at), start + at);
  let at = 0;
  let pending = readChunk(0, buffers[0]!);
  try {
    for (let turn = 0; at < size; turn++) {
      const { bytesRead, buffer } = await pending;
      if (bytesRead === 0) throw new Error('unexpected end of archive');
      at += bytesRead;
      if (ctx.signal?.aborted) throw ctx.signal.reason;
      if (at < size) pending = readChunk(at, buffers[(turn + 1) % 2]!);
      await handle(buffer.subarray(0, bytesRead));
    }
  } finally {
    // The caller closes the archive's fd next: no read may still be using it.
    await pending.catch(() => {});
  }
}

/** Stored data, copied as read. */
function copyStored(start: number, size: number, ctx: WriteContext, consume: (chunk: Buffer) => void): Promise<void> {
  return readDoubleBuffered(start, size, ctx, consume);
}

/**
 * Deflated data: each chunk is written to zlib and awaited (the write callback fires once
 * zlib has consumed it) before its buffer is read into again.
 */
async function inflateStream(start: number, size: number, ctx: WriteContext, consume: (chunk: Buffer) => void): Promise<void> {
  const inflater = createInflateRaw({ chunkSize: 256 * 1024 });
  // What went wrong first wins: a size or limit error from `consume` over the generic
  // "stream destroyed" the pending write then sees.
  let consumeError: unknown;
  const { garbage } = scratchOf(ctx);
  inflater.on('data', (chunk: Buffer) => {
    try {
      consume(chunk);
      garbage.dropped(chunk.length);
    } catch (error) {
      consumeError ??= error;
      inflater.destroy(error as Error);
    }
  });
  const failed = new Promise<never>((_, reject) => inflater.once('error', reject));
  failed.catch(() => {}); // observed through the races below
  const ended = once(inflater, 'end');
  ended.catch(() => {});
  try {
    await readDoubleBuffered(start, size, ctx, async (chunk) => {
      const written = new Promise<void>((resolve, reject) => {
        inflater.write(chunk, (error) => (error ? reject(error) : resolve()));
      });
      written.catch(() => {});
      await Promise.race([written, failed]);
    });
    inflater.end();
    await Promise.race([ended, failed]);
  } catch (error) {
    throw consumeError ?? error;
  } finally {
    inflater.destroy();
  }
}
