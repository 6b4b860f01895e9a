import type { Limits } from '../config/types.js';
import { VerificationError } from '../errors.js';
import { releaseFileMode } from '../util/modes.js';
import type { CentralDirectory, RawEntry } from './central-directory.js';

/** A regular file or symlink to write, with its normalised relative path. */
export interface PlannedEntry {
  /** Relative path inside the destination, `/`-separated, no `.`/`..`/empty segments. */
  path: string;
  /** Permission bits to give the file: 0755 or 0644 from the archive's execute bits. */
  mode: number;
  entry: RawEntry;
}

/** Everything the writer needs, decided from the central directory alone. */
export interface ExtractPlan {
  /** Every directory to create, explicit or implied, parents before children (all 0755). */
  dirs: string[];
  /** Explicit directory entries (their times are restored once everything below is written). */
  dirEntries: PlannedEntry[];
  /** Regular files, in archive order so the archive is read front to back. */
  files: PlannedEntry[];
  /** Symlinks: created last, after their targets have been checked. */
  links: PlannedEntry[];
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
/** Longest symlink target we accept (PATH_MAX). */
export const maxLinkTarget = 4096;

/**
 * Applies every rule that can be decided without reading entry data: safe names, no
 * duplicates, nothing below a file or a symlink entry, supported methods, no encryption, the
 * entry and declared-size limits, no overlapping entries. Throws `VerificationError` naming
 * the archive and the entry; pure otherwise.
 */
export function planExtraction(cd: CentralDirectory, archive: string, limits: Limits): ExtractPlan {
  const refuse: Refuse = (entry, why) => new VerificationError(`refusing zip ${archive}: entry ${JSON.stringify(entry.name)} ${why}`);
  if (cd.entries.length > limits.maxEntries) {
    throw new VerificationError(`zip ${archive} has ${cd.entries.length} entries, more than the limit of ${limits.maxEntries}`);
  }
  const kinds = new Map<string, 'dir' | 'file' | 'link'>();
  const dirEntries: PlannedEntry[] = [];
  const files: PlannedEntry[] = [];
  const links: PlannedEntry[] = [];
  let declared = 0;
  for (const entry of cd.entries) {
    const named = nameOf(entry, refuse);
    if (!named) continue;
    const { path, kind } = named;
    if (kinds.has(path)) throw refuse(entry, 'is a duplicate');
    kinds.set(path, kind);
    if (kind === 'dir') {
      // unzip would write such an entry's data as a file (or drop it): no reading is shared.
      if (entry.uncompressedSize > 0 || (entry.method === 0 && entry.compressedSize > 0)) {
        throw refuse(entry, `is a directory entry carrying ${entry.uncompressedSize} bytes of data`);
      }
      dirEntries.push({ path, mode: 0o755, entry });
      continue;
    }
    if (entry.method !== 0 && entry.method !== 8) {
      throw refuse(entry, `uses compression method ${entry.method} (${methodNames[entry.method] ?? 'unknown'}), which is not supported: repack it with deflate or stored`);
    }
    if (kind === 'link' && entry.uncompressedSize > maxLinkTarget) throw refuse(entry, 'is a symlink with an overlong target');
    declared += entry.uncompressedSize;
    (kind === 'link' ? links : files).push({ path, mode: releaseFileMode(unixModeOf(entry)), entry });
  }
  if (declared > limits.maxUnpackedBytes) {
    throw new VerificationError(`zip ${archive} unpacks to ${declared} bytes, more than the limit of ${limits.maxUnpackedBytes}`);
  }
  const dirs = parentDirs(kinds, archive);
  checkOverlaps([...files, ...links], cd.dataEnd, refuse);
  files.sort((a, b) => a.entry.localHeaderOffset - b.entry.localHeaderOffset);
  return { dirs: [...dirs].sort(), dirEntries, files, links };
}

/** Builds the refusal of one entry. */
type Refuse = (entry: RawEntry, why: string) => VerificationError;

/**
 * The path an entry is written to and its kind, or undefined for `./` (the destination
 * itself). Refuses names that could leave the destination, and entries of no supported kind.
 */
function nameOf(entry: RawEntry, refuse: Refuse): { path: string; kind: 'dir' | 'file' | 'link' } | undefined {
  if (entry.hasNul) throw refuse(entry, 'has a NUL byte in its name');
  if (entry.flags & 0x41) throw refuse(entry, `${encryptionOf(entry)}: not supported, publish an unencrypted archive`);
  // Backslashes are path separators to Windows tools: judge the name the way they would
  // read it, so `..\..\x` cannot slip past as one odd file name.
  const judged = entry.name.replace(/\\/g, '/');
  if (judged.startsWith('/')) throw refuse(entry, 'has an absolute path');
  if (/^[a-zA-Z]:/.test(judged)) throw refuse(entry, 'starts with a drive letter');
  if (judged.split('/').includes('..')) throw refuse(entry, 'has a ".." segment');
  // Write it the way unzip does: backslashes are separators only in a name from MS-DOS
  // (made-by 0) that has no `/`; elsewhere they are part of the file name, as in Python.
  const name = entry.madeBy === 0 && !entry.name.includes('/') ? judged : entry.name;
  const path = name.split('/').filter((s) => s !== '' && s !== '.').join('/');
  const kind = kindOf(entry, name.endsWith('/'));
  if (kind === null) throw refuse(entry, 'is not a regular file, directory or symlink');
  if (path === '') {
    if (kind === 'dir') return undefined; // `./` names the destination itself
    throw refuse(entry, 'has an empty name');
  }
  return { path, kind };
}

/**
 * Every directory the plan needs. A path below a symlink entry would be written through the
 * link (`a` -> `/etc`, then `a/passwd`); below a file it cannot exist. Both are refused before
 * anything is written.
 */
function parentDirs(kinds: ReadonlyMap<string, 'dir' | 'file' | 'link'>, archive: string): Set<string> {
  const dirs = new Set<string>();
  for (const [path, kind] of kinds) {
    if (kind === 'dir') dirs.add(path);
    for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
      const parent = path.slice(0, i);
      const parentKind = kinds.get(parent);
      if (parentKind === 'link') throw new VerificationError(`refusing zip ${archive}: entry ${JSON.stringify(path)} would be written through symlink ${JSON.stringify(parent)}`);
      if (parentKind === 'file') throw new VerificationError(`refusing zip ${archive}: entry ${JSON.stringify(path)} lies below file ${JSON.stringify(parent)}`);
      dirs.add(parent);
    }
  }
  return dirs;
}

/**
 * Entries whose data overlap are the trick behind non-recursive zip bombs; real archives
 * never share bytes between entries.
 */
function checkOverlaps(entries: readonly PlannedEntry[], dataEnd: number, refuse: Refuse): void {
  const ordered = [...entries].sort((a, b) => a.entry.localHeaderOffset - b.entry.localHeaderOffset);
  for (let i = 0; i < ordered.length; i++) {
    const { entry } = ordered[i]!;
    const end = entry.localHeaderOffset + 30 + entry.compressedSize;
    const next = i + 1 < ordered.length ? ordered[i + 1]!.entry.localHeaderOffset : dataEnd;
    if (end > next) throw refuse(entry, i + 1 < ordered.length ? 'overlaps the next entry' : 'extends past the entry data (truncated?)');
  }
}

/** Compression methods by the names APPNOTE gives them, for messages. */
const methodNames: Record<number, string> = {
  1: 'shrunk',
  2: 'reduced',
  3: 'reduced',
  4: 'reduced',
  5: 'reduced',
  6: 'imploded',
  9: 'deflate64',
  10: 'PKWARE DCL imploded',
  12: 'bzip2',
  14: 'LZMA',
  18: 'IBM TERSE',
  19: 'IBM LZ77',
  20: 'zstd (old id)',
  93: 'zstd',
  94: 'MP3',
  95: 'xz',
  96: 'JPEG',
  97: 'WavPack',
  98: 'PPMd',
  99: 'AES-encrypted',
};

function encryptionOf(entry: RawEntry): string {
  if (entry.method === 99) return 'is AES-encrypted (WinZip)';
  if (entry.flags & 0x40) return 'uses PKWARE strong encryption';
  return 'is encrypted (traditional PKWARE encryption)';
}

/** Unix modes only mean something when the archive was made on unix (3) or macOS (19). */
function unixModeOf(entry: RawEntry): number {
  return entry.madeBy === 3 || entry.madeBy === 19 ? entry.externalAttributes >>> 16 : 0;
}

function kindOf(entry: RawEntry, slash: boolean): 'dir' | 'file' | 'link' | null {
  const type = unixModeOf(entry) & S_IFMT;
  if (slash || type === S_IFDIR) return 'dir';
  if (type === S_IFLNK) return 'link';
  if (type === S_IFREG) return 'file';
  if (type !== 0) return null; // fifo, device, socket
  return entry.externalAttributes & 0x10 ? 'dir' : 'file'; // MS-DOS directory attribute
}
