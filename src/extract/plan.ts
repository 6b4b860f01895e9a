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
  const refuse = (entry: RawEntry, why: string) => new VerificationError(`refusing zip ${archive}: entry ${JSON.stringify(entry.name)} ${why}`);
  if (cd.entries.length > limits.maxEntries) {
    throw new VerificationError(`zip ${archive} has ${cd.entries.length} entries, more than the limit of ${limits.maxEntries}`);
  }
  const kinds = new Map<string, 'dir' | 'file' | 'link'>();
  const files: PlannedEntry[] = [];
  const links: PlannedEntry[] = [];
  let declared = 0;
  for (const entry of cd.entries) {
    if (entry.hasNul) throw refuse(entry, 'has a NUL byte in its name');
    if (entry.flags & 0x41) throw refuse(entry, 'is encrypted');
    // Backslashes are path separators to Windows tools: judge (and write) the name the way
    // they would read it, so `..\..\x` cannot slip past as one odd file name.
    const name = entry.name.replace(/\\/g, '/');
    if (name.startsWith('/')) throw refuse(entry, 'has an absolute path');
    if (/^[a-zA-Z]:/.test(name)) throw refuse(entry, 'starts with a drive letter');
    const segments = name.split('/').filter((s) => s !== '' && s !== '.');
    if (segments.includes('..')) throw refuse(entry, 'has a ".." segment');
    const path = segments.join('/');
    const kind = kindOf(entry, name.endsWith('/'));
    if (kind === null) throw refuse(entry, 'is not a regular file, directory or symlink');
    if (path === '') {
      if (kind === 'dir') continue; // `./` names the destination itself
      throw refuse(entry, 'has an empty name');
    }
    if (kinds.has(path)) throw refuse(entry, 'is a duplicate');
    kinds.set(path, kind);
    if (kind === 'dir') continue;
    if (entry.method !== 0 && entry.method !== 8) throw refuse(entry, `uses unsupported compression method ${entry.method}`);
    if (kind === 'link' && entry.uncompressedSize > maxLinkTarget) throw refuse(entry, 'is a symlink with an overlong target');
    declared += entry.uncompressedSize;
    (kind === 'link' ? links : files).push({ path, mode: releaseFileMode(unixModeOf(entry)), entry });
  }
  if (declared > limits.maxUnpackedBytes) {
    throw new VerificationError(`zip ${archive} unpacks to ${declared} bytes, more than the limit of ${limits.maxUnpackedBytes}`);
  }

  // A path below a symlink entry would be written through the link (`a` -> `/etc`, then
  // `a/passwd`); below a file it cannot exist. Both are refused before anything is written.
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

  // Entries whose data overlap are the trick behind non-recursive zip bombs; real archives
  // never share bytes between entries.
  const ordered = [...files, ...links].sort((a, b) => a.entry.localHeaderOffset - b.entry.localHeaderOffset);
  for (let i = 0; i < ordered.length; i++) {
    const { entry } = ordered[i]!;
    const end = entry.localHeaderOffset + 30 + entry.compressedSize;
    const next = i + 1 < ordered.length ? ordered[i + 1]!.entry.localHeaderOffset : cd.dataEnd;
    if (end > next) throw refuse(entry, i + 1 < ordered.length ? 'overlaps the next entry' : 'extends past the entry data (truncated?)');
  }
  files.sort((a, b) => a.entry.localHeaderOffset - b.entry.localHeaderOffset);
  return { dirs: [...dirs].sort(), files, links };
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
