import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import yazl from 'yazl';

/**
 * Shared by the delta download tests: versions of one application tree as zips with fixed
 * timestamps (so an unchanged file gives identical entry bytes in every version, as a
 * reproducible build would), the six kinds of change, and a comparison of deployed trees.
 */

/** path -> file (content, mode) or symlink target. */
export type Tree = Record<string, { content: string; mode?: number } | { link: string }>;

/** Text that compresses about 2:1 (hex of a hash chain): entries big enough to tell a delta from a full download. */
export function filler(seed: string, bytes: number): string {
  let out = '';
  let h = seed;
  while (out.length < bytes) {
    h = createHash('sha256').update(h).digest('hex');
    out += `${h}\n`;
  }
  return out.slice(0, bytes);
}

/** The base version: `files` files of 16 KiB in 4 directories, an executable and a symlink. */
export function baseTree(files = 60): Tree {
  const tree: Tree = {};
  for (let i = 0; i < files; i++) tree[`d${i % 4}/f${String(i).padStart(2, '0')}.txt`] = { content: filler(`f${i}`, 16 * 1024) };
  tree['bin/run.sh'] = { content: '#!/bin/sh\necho run\n', mode: 0o755 };
  tree.link = { link: 'd0/f00.txt' };
  return tree;
}

/** The six changes the delta download must handle, each applied to a copy of `tree`. */
export const changes: [string, (tree: Tree) => void][] = [
  ['a changed file', (t) => void (t['d1/f05.txt'] = { content: filler('changed', 16 * 1024) })],
  ['an added file', (t) => void (t['d9/added.txt'] = { content: filler('added', 16 * 1024) })],
  ['a removed file', (t) => void delete t['d3/f07.txt']],
  ['a renamed file', (t) => {
    t['moved/f08.txt'] = t['d0/f08.txt']!;
    delete t['d0/f08.txt'];
  }],
  ['a mode change', (t) => void (t['d1/f09.txt'] = { ...(t['d1/f09.txt'] as { content: string }), mode: 0o755 })],
  ['a symlink change', (t) => void (t.link = { link: 'd1/f01.txt' })],
];

/** `tree` with `change` applied. */
export function changed(tree: Tree, change: (tree: Tree) => void): Tree {
  const copy = structuredClone(tree);
  change(copy);
  return copy;
}

/** The zip of `tree`: names sorted, every mtime 2024-01-01, so equal files make equal entries. */
export async function zipOfTree(tree: Tree): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const mtime = new Date('2024-01-01T00:00:00Z');
  for (const name of Object.keys(tree).sort()) {
    const item = tree[name]!;
    if ('link' in item) zip.addBuffer(Buffer.from(item.link), name, { mtime, mode: 0o120777, compress: false });
    else zip.addBuffer(Buffer.from(item.content), name, { mtime, mode: 0o100000 | (item.mode ?? 0o644) });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A deployed tree as comparable text: every file with its mode, mtime and content digest, every
 * symlink with its target, every directory with its mode. Two deploys of one archive must
 * give equal maps whichever way the archive was fetched.
 */
export function describeTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string): void => {
    for (const name of readdirSync(at).sort()) {
      const path = join(at, name);
      const st = lstatSync(path);
      const rel = relative(dir, path);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out[`${rel}/`] = `dir ${mode}`;
        walk(path);
      } else if (st.isSymbolicLink()) out[rel] = `link -> ${readlinkSync(path)}`;
      else out[rel] = `file ${mode} ${st.mtimeMs} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    }
  };
  walk(dir);
  return out;
}

/** The one cached archive in an HTTP remote's cache directory. */
export function cachedArchive(cacheDir: string): Buffer {
  const names = readdirSync(cacheDir).filter((n) => /^sha256-[0-9a-f]{64}\.zip$/.test(n));
  if (names.length !== 1) throw new Error(`expected one cached archive, found ${names.join(', ') || 'none'}`);
  return readFileSync(join(cacheDir, names[0]!));
}
