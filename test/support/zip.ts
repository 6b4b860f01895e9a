import yazl from 'yazl';
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';

/** Raw fields to force into an entry after yazl wrote it (both headers where they exist). */
export interface EntryPatch {
  /** Upper byte of "version made by" (3 unix, 0 MS-DOS/Windows). Central directory only. */
  madeBy?: number;
  /** External attributes (unix mode << 16 | MS-DOS attributes). Central directory only. */
  externalAttributes?: number;
  /** General purpose flags (bit 0: encrypted). */
  flags?: number;
  /** Compression method (0 stored, 8 deflate, 12 bzip2...). */
  method?: number;
  /** Declared uncompressed size (a lie here makes a zip bomb). Both headers. */
  uncompressedSize?: number;
}

/**
 * One entry of a test zip. `name` is written verbatim: names yazl refuses or rewrites
 * (`../x`, `/etc/x`, `a\b`, NUL bytes, drive letters) are written under a placeholder of the
 * same byte length and patched into both headers afterwards.
 */
export type ZipEntry = (
  | { name: string; content: string | Buffer; mode?: number }
  | { name: string; symlink: string }
  | { name: string; directory: true; mode?: number }
) & { patch?: EntryPatch };

/** Options for `makeZip`. */
export interface MakeZipOptions {
  /** Deflate file contents (default true). */
  compress?: boolean;
  /** Zip64 records for every entry and the end of the archive. */
  zip64?: boolean;
}

const hostile = /^\/|\\|\.\.|\0|^[a-zA-Z]:|\/\/|^\.\/|\/\.\//;

/** Builds a zip in memory with yazl (modes and symlinks preserved as unix external attributes). */
export async function makeZip(entries: ZipEntry[], options: MakeZipOptions = {}): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const renames = new Map<string, { name: string; patch: EntryPatch }>();
  entries.forEach((entry, index) => {
    let name = entry.name;
    if (hostile.test(name) || entry.patch) {
      const isDir = 'directory' in entry;
      const bytes = Buffer.byteLength(name) - (isDir && name.endsWith('/') ? 1 : 0);
      const tag = `Q${index.toString(36)}`;
      if (bytes < tag.length) throw new Error(`test zip: name ${JSON.stringify(name)} too short for a placeholder`);
      name = tag + 'q'.repeat(bytes - tag.length);
      renames.set(isDir ? `${name}/` : name, { name: entry.name.endsWith('/') || !isDir ? entry.name : `${entry.name}/`, patch: entry.patch ?? {} });
    }
    const zip64 = options.zip64 ? { forceZip64Format: true } : {};
    if ('symlink' in entry) {
      zip.addBuffer(Buffer.from(entry.symlink), name, { mode: 0o120777, compress: false, ...zip64 });
    } else if ('directory' in entry) {
      zip.addEmptyDirectory(name, { mode: entry.mode ?? 0o40755 });
    } else {
      const data = typeof entry.content === 'string' ? Buffer.from(entry.content) : entry.content;
      zip.addBuffer(data, name, { mode: entry.mode ?? 0o100644, compress: options.compress ?? true, ...zip64 });
    }
  });
  zip.end(options.zip64 ? ({ forceZip64Format: true } as yazl.EndOptions) : undefined);
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  const data = Buffer.concat(chunks);
  for (const [placeholder, { name, patch }] of renames) patchEntry(data, placeholder, name, patch);
  return data;
}

/** Where each entry's header and data lie in a (non-zip64) zip, by name. */
export function entryLayout(zip: Buffer): Map<string, { central: number; local: number; data: number; compressedSize: number }> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const out = new Map<string, { central: number; local: number; data: number; compressedSize: number }>();
  for (let i = 0; i < count; i++) {
    const nameLength = zip.readUInt16LE(at + 28);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    const local = zip.readUInt32LE(at + 42);
    const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    out.set(name, { central: at, local, data, compressedSize: zip.readUInt32LE(at + 20) });
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return out;
}

/** Renames `placeholder` to `name` (same byte length) and applies `patch`, in place. */
function patchEntry(zip: Buffer, placeholder: string, name: string, patch: EntryPatch): void {
  const where = entryLayout(zip).get(placeholder);
  if (!where) throw new Error(`test zip: placeholder ${placeholder} not found`);
  const raw = Buffer.from(name);
  raw.copy(zip, where.central + 46);
  raw.copy(zip, where.local + 30);
  if (patch.madeBy !== undefined) zip.writeUInt8(patch.madeBy, where.central + 5);
  if (patch.externalAttributes !== undefined) zip.writeUInt32LE(patch.externalAttributes >>> 0, where.central + 38);
  if (patch.flags !== undefined) {
    zip.writeUInt16LE(patch.flags, where.central + 8);
    zip.writeUInt16LE(patch.flags, where.local + 6);
  }
  if (patch.method !== undefined) {
    zip.writeUInt16LE(patch.method, where.central + 10);
    zip.writeUInt16LE(patch.method, where.local + 8);
  }
  if (patch.uncompressedSize !== undefined) {
    zip.writeUInt32LE(patch.uncompressedSize, where.central + 24);
    zip.writeUInt32LE(patch.uncompressedSize, where.local + 22);
  }
}

/** Same as `makeZip`, written to `path`. */
export async function writeZip(path: string, entries: ZipEntry[], options: MakeZipOptions = {}): Promise<void> {
  const data = await makeZip(entries, options);
  const out = createWriteStream(path);
  out.end(data);
  await finished(out);
}

/** Convenience: a map of path -> text as zip entries. */
export function entriesOf(files: Record<string, string>): ZipEntry[] {
  return Object.entries(files).map(([name, content]) => ({ name, content }));
}
