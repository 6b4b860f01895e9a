import { mkdtempSync, mkdirSync, writeFileSync, chmodSync, symlinkSync, rmSync, lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after } from 'node:test';

/** A file in a fixture: text, or text with a mode, or a symlink. */
export type FixtureEntry = string | { content: string | Buffer; mode?: number } | { symlink: string };

/** Writes `files` (relative path -> entry) under `dir`. */
export function writeTree(dir: string, files: Record<string, FixtureEntry>): void {
  for (const [rel, entry] of Object.entries(files)) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    if (typeof entry === 'string') writeFileSync(path, entry);
    else if ('symlink' in entry) symlinkSync(entry.symlink, path);
    else {
      writeFileSync(path, entry.content);
      if (entry.mode !== undefined) chmodSync(path, entry.mode);
    }
  }
}

/**
 * A fresh temporary directory holding `files`, removed when the current test file ends.
 */
export function testdir(files: Record<string, FixtureEntry> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'repo-deploy-test-'));
  writeTree(dir, files);
  // Retried: a background CLI the test left running may still be writing into it until the
  // `after` that kills it (registered later, so run later).
  after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }));
  return dir;
}

/** Every path under `dir` with its type, permission bits, and content or link target. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  (function walk(at: string) {
    for (const name of readdirSync(at).sort()) {
      const path = join(at, name);
      const st = lstatSync(path);
      const mode = (st.mode & 0o7777).toString(8);
      const rel = relative(dir, path);
      if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(path)}`;
      else if (st.isDirectory()) {
        out[rel] = `dir ${mode}`;
        walk(path);
      } else out[rel] = `file ${mode} ${readFileSync(path, 'utf8')}`;
    }
  })(dir);
  return out;
}
