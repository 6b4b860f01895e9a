/**
 * The conformance suite every remote kind runs (unjs/unstorage's `testDriver()` is the model):
 * one fixture per test publishes content on a real local server (or directory, or repository),
 * and the same named cases check what DESIGN §4 promises of every kind. Kind-specific cases live
 * in each kind's own test file.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { defaultLimits } from '../../src/config/types.js';
import { RemoteError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { createRemote, parseRemote } from '../../src/remotes/index.js';
import { withFetchInChild } from '../../src/remotes/isolated.js';
import type { Remote, RemoteConfig, RemoteContext } from '../../src/remotes/types.js';
import { testdir } from '../support/tmp.js';
import yazl from 'yazl';

/** A file of a published version: text, or text with a mode. */
export type PublishedFile = string | { content: string; mode?: number };

/** What a kind's test file provides so the shared cases can drive it. */
export interface RemoteFixture {
  /** URL (or path) the remote is created from. */
  url: string;
  /** Publishes a new version whose content is these files (path -> text, or {content, mode}). */
  publish(files: Record<string, PublishedFile>): Promise<void>;
  /**
   * Requests the server has received since the last reset, and body bytes it sent (for kinds
   * with a server; git may count ls-remote invocations instead).
   */
  requests(): { count: number; bodyBytes: number };
  resetCounters(): void;
  /**
   * Set to false for kinds with no server to count (local paths): the no-op case then checks
   * the version only. Default true.
   */
  countsRequests?: boolean;
  /** A URL of the same kind for something that does not exist. */
  missingUrl(): string;
  /** A URL of the same kind whose server does not answer / refuses connections. */
  unreachableUrl(): string;
  /** Optional: makes the next fetch receive a truncated body (archive kinds). */
  truncateNext?(): void;
  close(): Promise<void>;
}

/**
 * The config remotes are built with in tests: default limits, short timeouts (so the
 * unreachable case ends quickly), no verification. `overrides` win.
 */
export function testRemoteConfig(overrides: Partial<RemoteConfig> = {}): RemoteConfig {
  return {
    connectTimeoutMs: 2000,
    readTimeoutMs: 3000,
    limits: { ...defaultLimits },
    gitSubmodules: true,
    verify: { verifySha256: false },
    ...overrides,
  };
}

/** Builds a remote the way the agent does (through the registry), with `testRemoteConfig`. */
export function makeTestRemote(url: string, overrides: Partial<RemoteConfig> = {}): Remote {
  return createRemote(url, testRemoteConfig(overrides));
}

/** A fresh remote context: its own cache directory (removed after the file), a silent logger. */
export function testContext(cacheDir: string = testdir()): RemoteContext {
  return { cacheDir, logger: silentLogger() };
}

/**
 * A zip of `files` with fixed timestamps: the same files always give the same bytes, so a
 * fixture that re-publishes unchanged content serves an identical archive.
 */
export async function zipOfFiles(files: Record<string, PublishedFile>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const mtime = new Date('2024-01-01T00:00:00Z');
  for (const [name, file] of Object.entries(files)) {
    const { content, mode } = typeof file === 'string' ? { content: file, mode: undefined } : file;
    zip.addBuffer(Buffer.from(content), name, { mtime, mode: 0o100000 | (mode ?? 0o644) });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Regular files and symlinks under `dir`, as relative path -> content (or `-> target`). */
export function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string): void => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      const st = lstatSync(path);
      const rel = relative(dir, path);
      if (st.isDirectory()) walk(path);
      else if (st.isSymbolicLink()) out[rel] = `-> ${readlinkSync(path)}`;
      else out[rel] = readFileSync(path, 'utf8');
    }
  };
  walk(dir);
  return out;
}

/** Expected tree for published files: path -> text. */
function textsOf(files: Record<string, PublishedFile>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [k, typeof v === 'string' ? v : v.content]));
}

/** Last path segment of a URL or path, without ref or query: what an error must name. */
function tailOf(url: string): string {
  const clean = url.replace(/[#?].*$/, '').replace(/\/+$/, '');
  return clean.slice(clean.lastIndexOf('/') + 1);
}

/** True when `data` looks like a complete zip: starts with a local header, has an end record. */
function looksLikeCompleteZip(data: Buffer): boolean {
  const eocd = Buffer.from([0x50, 0x4b, 0x05, 0x06]);
  return data.subarray(0, 2).toString() === 'PK' && data.lastIndexOf(eocd) >= Math.max(0, data.length - 65_557);
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (at: string): void => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      const st = lstatSync(path);
      if (st.isDirectory()) walk(path);
      else if (st.isFile()) out.push(path);
    }
  };
  walk(dir);
  return out;
}

async function withFixture(make: () => Promise<RemoteFixture>, body: (fx: RemoteFixture) => Promise<void>): Promise<void> {
  const fx = await make();
  try {
    await body(fx);
  } finally {
    await fx.close();
  }
}

const v1: Record<string, PublishedFile> = {
  'index.html': '<h1>v1</h1>\n',
  'bin/start.sh': { content: '#!/bin/sh\necho start v1\n', mode: 0o755 },
  'conf/app.ini': { content: 'name = app\n', mode: 0o640 },
};
const v2: Record<string, PublishedFile> = {
  'index.html': '<h1>version two, longer</h1>\n',
  'bin/start.sh': { content: '#!/bin/sh\necho start v2 with more\n', mode: 0o755 },
  'new-file.txt': 'added in v2\n',
};

/**
 * Registers the shared cases for one remote kind under `describe(name)`. `makeFixture` is called
 * once per case (each case gets a fresh server and cache); `config` overrides `testRemoteConfig`.
 */
export function testRemoteConformance(name: string, makeFixture: () => Promise<RemoteFixture>, config: Partial<RemoteConfig> = {}): void {
  const remoteFor = (url: string): Remote => makeTestRemote(url, config);

  describe(`${name} remote conformance`, () => {
    test('first deploy: check gives a version, fetch writes the files with their modes', async () => {
      await withFixture(makeFixture, async (fx) => {
        await fx.publish(v1);
        const remote = remoteFor(fx.url);
        const ctx = testContext();
        const seen = await remote.check(ctx);
        assert.equal(typeof seen.version, 'string');
        assert.ok(seen.version.length > 0, 'version is empty');
        const into = testdir();
        const result = await remote.fetch(seen.version, into, ctx);
        assert.deepEqual(readTree(into), textsOf(v1));
        assert.ok(statSync(join(into, 'bin/start.sh')).mode & 0o100, 'executable lost its x bit');
        assert.equal(statSync(join(into, 'index.html')).mode & 0o111, 0, 'plain file became executable');
        assert.equal(typeof result.contentId, 'string');
        assert.ok(result.contentId.length > 0, 'contentId is empty');
        assert.ok(!remote.display.includes('@') || remote.display.includes('***@'), 'display may hold credentials');
      });
    });

    test('no-op: an unchanged remote gives the same version for one request and no body', async () => {
      await withFixture(makeFixture, async (fx) => {
        await fx.publish(v1);
        const remote = remoteFor(fx.url);
        const ctx = testContext();
        const first = await remote.check(ctx);
        fx.resetCounters();
        const again = await remote.check(ctx);
        assert.equal(again.version, first.version);
        if (fx.countsRequests !== false) {
          assert.deepEqual(fx.requests(), { count: 1, bodyBytes: 0 });
        }
        // A fresh remote object on the same cache must be just as cheap: the state is on disk.
        fx.resetCounters();
        const fresh = await remoteFor(fx.url).check(ctx);
        assert.equal(fresh.version, first.version);
        if (fx.countsRequests !== false) assert.deepEqual(fx.requests(), { count: 1, bodyBytes: 0 });
      });
    });

    test('update: a new publication gives a new version and fetch gives the new content', async () => {
      await withFixture(makeFixture, async (fx) => {
        await fx.publish(v1);
        const remote = remoteFor(fx.url);
        const ctx = testContext();
        const first = await remote.check(ctx);
        const firstDir = testdir();
        const r1 = await remote.fetch(first.version, firstDir, ctx);
        await fx.publish(v2);
        const second = await remote.check(ctx);
        assert.notEqual(second.version, first.version);
        const into = testdir();
        const r2 = await remote.fetch(second.version, into, ctx);
        assert.deepEqual(readTree(into), textsOf(v2));
        assert.notEqual(r2.contentId, r1.contentId);
      });
    });

    test('same content re-published: same content id', async () => {
      await withFixture(makeFixture, async (fx) => {
        await fx.publish(v1);
        const remote = remoteFor(fx.url);
        const ctx = testContext();
        const first = await remote.check(ctx);
        const r1 = await remote.fetch(first.version, testdir(), ctx);
        await fx.publish(v1);
        const second = await remote.check(ctx);
        const into = testdir();
        const r2 = await remote.fetch(second.version, into, ctx);
        assert.equal(r2.contentId, r1.contentId);
        assert.deepEqual(readTree(into), textsOf(v1));
      });
    });

    test('missing object: RemoteError naming the URL', async () => {
      await withFixture(makeFixture, async (fx) => {
        await fx.publish(v1);
        const url = fx.missingUrl();
        const remote = remoteFor(url);
        await assert.rejects(remote.check(testContext()), (error: unknown) => {
          assert.ok(error instanceof RemoteError, `expected RemoteError, got ${String(error)}`);
          assert.ok(error.message.includes(remote.display), `message does not name ${remote.display}: ${error.message}`);
          assert.ok(remote.display.includes(tailOf(url)), `display ${remote.display} does not name ${url}`);
          return true;
        });
      });
    });

    test('unreachable: RemoteError within a few seconds', async () => {
      await withFixture(makeFixture, async (fx) => {
        const remote = remoteFor(fx.unreachableUrl());
        const started = Date.now();
        await assert.rejects(remote.check(testContext()), (error: unknown) => {
          assert.ok(error instanceof RemoteError, `expected RemoteError, got ${String(error)}`);
          return true;
        });
        const elapsed = Date.now() - started;
        assert.ok(elapsed < 10_000, `took ${elapsed} ms`);
      });
    });

    test('daemon mode (fetch and changed bodies in a child process): same versions, files and costs', async () => {
      await withFixture(makeFixture, async (fx) => {
        await fx.publish(v1);
        const direct = await remoteFor(fx.url).check(testContext());
        const remote = withFetchInChild(remoteFor(fx.url), parseRemote(fx.url, testRemoteConfig(config)));
        const ctx: RemoteContext = testContext();
        const first = await remote.check(ctx);
        assert.equal(first.version, direct.version);
        const into = testdir();
        const r1 = await remote.fetch(first.version, into, ctx);
        assert.deepEqual(readTree(into), textsOf(v1));
        assert.ok(statSync(join(into, 'bin/start.sh')).mode & 0o100, 'executable lost its x bit');
        // Unchanged, the check stays in this process and stays cheap.
        fx.resetCounters();
        assert.equal((await remote.check(ctx)).version, first.version);
        if (fx.countsRequests !== false) assert.deepEqual(fx.requests(), { count: 1, bodyBytes: 0 });
        await fx.publish(v2);
        const second = await remote.check(ctx);
        assert.notEqual(second.version, first.version);
        const next = testdir();
        const r2 = await remote.fetch(second.version, next, ctx);
        assert.deepEqual(readTree(next), textsOf(v2));
        assert.notEqual(r2.contentId, r1.contentId);
      });
    });

    test('truncated download: an error, and nothing complete-looking left in the cache', async (t) => {
      await withFixture(makeFixture, async (fx) => {
        if (!fx.truncateNext) {
          t.skip(`${name} has no truncatable download`);
          return;
        }
        await fx.publish(v1);
        const remote = remoteFor(fx.url);
        const ctx = testContext();
        fx.truncateNext();
        await assert.rejects(
          (async () => {
            const seen = await remote.check(ctx);
            await remote.fetch(seen.version, testdir(), ctx);
          })(),
          (error: unknown) => {
            assert.ok(error instanceof RemoteError, `expected RemoteError, got ${String(error)}`);
            return true;
          },
        );
        for (const file of filesUnder(ctx.cacheDir)) {
          const data = readFileSync(file);
          if (data.subarray(0, 2).toString() === 'PK') assert.ok(looksLikeCompleteZip(data), `partial zip left at ${relative(ctx.cacheDir, file)}`);
        }
        // The next attempt downloads again and gets the whole archive.
        const seen = await remote.check(ctx);
        const into = testdir();
        const result = await remote.fetch(seen.version, into, ctx);
        assert.deepEqual(readTree(into), textsOf(v1));
        assert.ok(result.contentId.length > 0);
      });
    });
  });
}
