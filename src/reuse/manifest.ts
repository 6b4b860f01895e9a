import type { BigIntStats } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { writePrivateFileAtomic } from '../util/atomic-write.js';
import { statOrNone } from './clone-sync.js';

/**
 * The list of a release's regular files, kept beside it (`releases/.<id>.files`, private to
 * the agent) so the next release can clone the files that did not change instead of writing
 * them again. Like git's index, each file carries the stat data it had when the release was
 * published: a file whose stat data differs since (edited in place by a hook or a hand) is
 * never cloned. gzip'd JSON, one row per file: 0.75 MiB for 20,000 files of a git tree (its
 * 40-digit blob ids compress poorly), less for a zip's CRC-32s.
 */

/** How a release was written: content ids are compared only between manifests of one kind. */
export type ManifestKind = 'zip' | 'git';

/** One regular file as its source described it, before its stat data is known. */
export interface PlannedFile {
  /** Path relative to the release root, `/`-separated. */
  path: string;
  /** Content id: CRC-32 as 8 hex digits (zip), blob id (git). */
  hash: string;
  /** Release mode: 0o644 or 0o755. */
  mode: number;
}

/** A published file: what its source said, and its stat data when the release was published. */
export interface RecordedFile extends PlannedFile {
  /** Stat data as decimal strings (inode numbers and nanoseconds exceed 2^53). */
  size: string;
  mtimeNs: string;
  ino: string;
  ctimeNs: string;
}

/** A release's manifest. */
export interface Manifest<F extends PlannedFile = RecordedFile> {
  kind: ManifestKind;
  files: F[];
}

/** The first line: format 2 holds JSON rows (format 1, one text line a file, took twice as long to read). */
const magic = 'repo-deploy-files 2';

/** Path of the manifest of release `id`. */
export function manifestPathOf(releasesDir: string, id: string): string {
  return join(releasesDir, `.${id}.files`);
}

/** Serialises a manifest (planned or recorded) to its compressed form. */
export function encodeManifest(manifest: Manifest<PlannedFile | RecordedFile>): Buffer {
  const rows = manifest.files.map((f) => ('ino' in f ? [f.path, f.hash, f.mode, f.size, f.mtimeNs, f.ino, f.ctimeNs] : [f.path, f.hash, f.mode]));
  // Level 1: a fifth of the text's size at a fraction of the time of the default level.
  return gzipSync(`${magic} ${manifest.kind}\n${JSON.stringify(rows)}\n`, { level: 1 });
}

/**
 * Parses a manifest; undefined when it is not one (cut short, another format or version):
 * the caller then writes every file, which is always correct.
 */
export function decodeManifest(data: Buffer): Manifest<PlannedFile | RecordedFile> | undefined {
  let text: string;
  try {
    text = gunzipSync(data).toString('utf8');
  } catch {
    return undefined;
  }
  const newline = text.indexOf('\n');
  const head = newline < 0 ? null : /^repo-deploy-files 2 (zip|git)$/.exec(text.slice(0, newline));
  if (!head || !text.endsWith('\n')) return undefined;
  let rows: unknown;
  try {
    rows = JSON.parse(text.slice(newline + 1));
  } catch {
    return undefined;
  }
  if (!Array.isArray(rows)) return undefined;
  const files: (PlannedFile | RecordedFile)[] = [];
  for (const row of rows) {
    const file = fileOf(row);
    if (!file) return undefined;
    files.push(file);
  }
  return { kind: head[1] as ManifestKind, files };
}

const hexRe = /^[0-9a-f]+$/;
const decimalRe = /^\d+$/;

/** One row: path, content id, mode, then the four stat fields as decimal strings when recorded. */
function fileOf(row: unknown): PlannedFile | RecordedFile | undefined {
  if (!Array.isArray(row) || (row.length !== 3 && row.length !== 7)) return undefined;
  const path: unknown = row[0];
  const hash: unknown = row[1];
  const mode: unknown = row[2];
  if (typeof path !== 'string' || typeof hash !== 'string' || !hexRe.test(hash)) return undefined;
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o7777) return undefined;
  if (row.length === 3) return { path, hash, mode };
  for (let i = 3; i < 7; i++) if (typeof row[i] !== 'string' || !decimalRe.test(row[i] as string)) return undefined;
  return { path, hash, mode, size: row[3] as string, mtimeNs: row[4] as string, ino: row[5] as string, ctimeNs: row[6] as string };
}

/** Writes a manifest atomically, private to the agent. */
export async function writeManifest(path: string, manifest: Manifest<PlannedFile | RecordedFile>): Promise<void> {
  await writePrivateFileAtomic(path, encodeManifest(manifest));
}

/**
 * Reads the manifest of a published release, keyed by path; undefined when there is none (a
 * release from an older agent, a local directory, a crash before it was recorded) or it is
 * unreadable.
 */
export async function readManifest(path: string): Promise<{ kind: ManifestKind; files: Map<string, RecordedFile> } | undefined> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch {
    return undefined;
  }
  const manifest = decodeManifest(data);
  if (!manifest) return undefined;
  const files = new Map<string, RecordedFile>();
  for (const f of manifest.files) if ('ino' in f) files.set(f.path, f);
  return { kind: manifest.kind, files };
}

/** Stat data of a file as the manifest records it; undefined when it is not a regular file. */
export function statOf(path: string): Omit<RecordedFile, keyof PlannedFile> | undefined {
  return statDataOf(statOrNone(path));
}

function statDataOf(st: BigIntStats | undefined): Omit<RecordedFile, keyof PlannedFile> | undefined {
  if (!st || !st.isFile()) return undefined;
  return { size: `${st.size}`, mtimeNs: `${st.mtimeNs}`, ino: `${st.ino}`, ctimeNs: `${st.ctimeNs}` };
}

/** Files stat'ed (synchronously: see `statOrNone`) between two turns of the event loop. */
const statsBetweenTurns = 1000;

/**
 * Reads the planned list a fetch left at `planned` (and removes it), and takes the stat data of
 * each file it names under `dir` as it is now. A file that is gone or no longer a regular file
 * is left out. Undefined when there was no planned list (a kind that does not record one).
 */
export async function statPlannedFiles(planned: string, dir: string): Promise<Manifest | undefined> {
  let data: Buffer;
  try {
    data = await readFile(planned);
  } catch {
    return undefined;
  }
  await rm(planned, { force: true });
  const manifest = decodeManifest(data);
  if (!manifest) return undefined;
  const files: RecordedFile[] = [];
  for (let i = 0; i < manifest.files.length; i++) {
    // Other work (the flush this may run beside) gets a turn now and then.
    if (i % statsBetweenTurns === statsBetweenTurns - 1) await new Promise((resolve) => setImmediate(resolve));
    const f = manifest.files[i]!;
    const stat = statDataOf(statOrNone(join(dir, f.path)));
    if (stat) files.push({ path: f.path, hash: f.hash, mode: f.mode, ...stat });
  }
  return { kind: manifest.kind, files };
}

/**
 * Turns the planned list a fetch left at `planned` into the manifest of the published release
 * at `releaseDir`, with each file's stat data as it is now (after `owner` took the files:
 * chown changes their ctime), and removes the planned list. `stated`: the same, taken
 * earlier by `statPlannedFiles` while nothing could change the files. Returns the number of
 * files recorded, or undefined when there was no planned list.
 */
export async function sealManifest(planned: string, releaseDir: string, out: string, stated?: Promise<Manifest | undefined>): Promise<number | undefined> {
  const manifest = await (stated ?? statPlannedFiles(planned, releaseDir));
  if (!manifest) return undefined;
  await writeManifest(out, manifest);
  return manifest.files.length;
}
