import { mkdirSync, readdirSync, lstatSync, readlinkSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { defaultLimits } from '../../src/config/types.js';
import type { RemoteConfig, RemoteContext } from '../../src/remotes/types.js';
import { testdir } from './tmp.js';

/** A remote config for git tests, with short timeouts so a hung case fails fast. */
export function gitConfig(overrides: Partial<RemoteConfig> = {}): RemoteConfig {
  return {
    connectTimeoutMs: 5_000,
    readTimeoutMs: 10_000,
    limits: defaultLimits,
    gitSubmodules: true,
    verify: { verifySha256: false },
    ...overrides,
  };
}

/** A remote context with a fresh cache dir and a logger whose lines are kept in `lines`. */
export function gitContext(cacheDir = join(testdir(), 'cache')): RemoteContext & { lines: string[] } {
  mkdirSync(cacheDir, { recursive: true });
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { cacheDir, logger: pino({ level: 'debug' }, sink), lines };
}

/** A fresh empty directory to fetch a release into. */
export function releaseDir(): string {
  const dir = join(testdir(), 'release');
  mkdirSync(dir);
  return dir;
}

/** Relative path -> `file:<content>` / `link:<target>` / `dir`, with `+x` for executables. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  (function walk(rel: string) {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, path));
      if (st.isSymbolicLink()) out[path] = `link:${readlinkSync(join(dir, path))}`;
      else if (st.isDirectory()) {
        out[path] = 'dir';
        walk(path);
      } else out[path] = `file:${readFileSync(join(dir, path), 'utf8')}${st.mode & 0o111 ? ' +x' : ''}`;
    }
  })('');
  return out;
}
