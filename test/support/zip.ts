import yazl from 'yazl';
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';

/** One entry of a test zip. `name` is written verbatim, so hostile names (`../x`, `/etc/x`) work. */
export type ZipEntry =
  | { name: string; content: string | Buffer; mode?: number }
  | { name: string; symlink: string }
  | { name: string; directory: true; mode?: number };

/** Builds a zip in memory with yazl (modes and symlinks preserved as unix external attributes). */
export async function makeZip(entries: ZipEntry[], options: { compress?: boolean } = {}): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const entry of entries) {
    if ('symlink' in entry) {
      zip.addBuffer(Buffer.from(entry.symlink), entry.name, { mode: 0o120777, compress: false });
    } else if ('directory' in entry) {
      zip.addEmptyDirectory(entry.name, { mode: entry.mode ?? 0o40755 });
    } else {
      const data = typeof entry.content === 'string' ? Buffer.from(entry.content) : entry.content;
      zip.addBuffer(data, entry.name, { mode: entry.mode ?? 0o100644, compress: options.compress ?? true });
    }
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Same as `makeZip`, written to `path`. */
export async function writeZip(path: string, entries: ZipEntry[], options: { compress?: boolean } = {}): Promise<void> {
  const data = await makeZip(entries, options);
  const out = createWriteStream(path);
  out.end(data);
  await finished(out);
}

/** Convenience: a map of path -> text as zip entries. */
export function entriesOf(files: Record<string, string>): ZipEntry[] {
  return Object.entries(files).map(([name, content]) => ({ name, content }));
}
