import { mkdtempSync, mkdirSync, writeFileSync, chmodSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
