import type { CentralDirectory, RawEntry } from '../extract/central-directory.js';
import { centralReader, entryKey, entrySpans } from './layout.js';
import type { ByteRange } from './source.js';

/**
 * The delta plan: which bytes of the new archive can be copied from the cached one and which
 * must be fetched. The new central directory and end records are fetched before planning.
 */

/** Bytes copied from the previous archive: [from, from + length) to [to, to + length). */
export interface CopyPiece {
  from: number;
  to: number;
  length: number;
}

/** The plan for bytes [0, dataEnd) of the new archive. */
export interface DeltaPlan {
  /** Ranges to fetch, coalesced, in file order. */
  fetch: ByteRange[];
  /** Ranges to copy, in file order; fetch and copy together cover [0, dataEnd) exactly. */
  copy: CopyPiece[];
  /** Entries whose bytes are fetched (new or changed): their data is checked on arrival. */
  fetchedEntries: RawEntry[];
  /** Entries whose bytes are copied. */
  reusedEntries: number;
}

/**
 * Two fetched ranges closer than this are fetched as one, the copyable bytes between them
 * included: a request costs a round trip (and, on S3, money), 64 KiB on a LAN much less.
 */
const coalesceGap = 64 * 1024;

/**
 * Plans the new archive (`next`, read through `nextFd`) from the previous one. An entry is
 * copied when the previous archive holds an entry with the same key (see `entryKey`) and a
 * span of the same length; everything else, bytes before the first entry included, is fetched.
 */
export function planDelta(previous: CentralDirectory, previousFd: number, next: CentralDirectory, nextFd: number): DeltaPlan {
  const old = new Map<string, { offset: number; length: number }>();
  const readPrevious = centralReader(previousFd, previous);
  for (const span of entrySpans(previous)) old.set(entryKey(readPrevious, span.entry), { offset: span.offset, length: span.length });
  const readNext = centralReader(nextFd, next);
  const pieces: ({ kind: 'fetch'; start: number; end: number } | ({ kind: 'copy' } & CopyPiece))[] = [];
  const fetchedEntries: RawEntry[] = [];
  let reusedEntries = 0;
  const spans = entrySpans(next);
  const first = spans[0]?.offset ?? next.dataEnd;
  if (first > 0) pieces.push({ kind: 'fetch', start: 0, end: first });
  for (const span of spans) {
    const match = old.get(entryKey(readNext, span.entry));
    if (match && match.length === span.length) {
      pieces.push({ kind: 'copy', from: match.offset, to: span.offset, length: span.length });
      reusedEntries++;
    } else {
      pieces.push({ kind: 'fetch', start: span.offset, end: span.offset + span.length });
      fetchedEntries.push(span.entry);
    }
  }
  return { ...coalesce(pieces), fetchedEntries, reusedEntries };
}

type Piece = { kind: 'fetch'; start: number; end: number } | ({ kind: 'copy' } & CopyPiece);

/**
 * Merges fetches separated by less than `coalesceGap` of copyable bytes (those are fetched
 * too), and copies that are contiguous on both sides (fewer, larger reads and writes).
 */
function coalesce(pieces: Piece[]): { fetch: ByteRange[]; copy: CopyPiece[] } {
  const fetch: ByteRange[] = [];
  const copy: CopyPiece[] = [];
  for (let i = 0; i < pieces.length; ) {
    const piece = pieces[i]!;
    if (piece.kind === 'fetch') {
      extendFetch(fetch, piece.start, piece.end);
      i++;
      continue;
    }
    // A run of copies: bridged by fetching it when short and between two fetches.
    let end = i;
    let bytes = 0;
    while (end < pieces.length && pieces[end]!.kind === 'copy') bytes += (pieces[end++] as CopyPiece).length;
    const bridged = i > 0 && end < pieces.length && bytes < coalesceGap;
    for (const run of pieces.slice(i, end) as CopyPiece[]) {
      const last = copy[copy.length - 1];
      if (bridged) extendFetch(fetch, run.to, run.to + run.length);
      else if (last && last.from + last.length === run.from && last.to + last.length === run.to) last.length += run.length;
      else copy.push({ from: run.from, to: run.to, length: run.length });
    }
    i = end;
  }
  return { fetch, copy };
}

/** Appends [start, end) to `fetch`, joining it to the last range when they touch. */
function extendFetch(fetch: ByteRange[], start: number, end: number): void {
  const last = fetch[fetch.length - 1];
  if (last && last.end === start) last.end = end;
  else fetch.push({ start, end });
}
