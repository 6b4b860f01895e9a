// Every kind of archive the extractor must refuse as a whole, one row each. Each row checks
// the error type, that the message names the archive and the entry, and that nothing was
// written outside the destination (and, for what the central directory gives away, nothing
// at all).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractZip } from '../../src/extract/zip.js';
import { VerificationError } from '../../src/errors.js';
import { defaultLimits, type Limits } from '../../src/config/types.js';
import { makeZip, type ZipEntry } from '../support/zip.js';
import { testdir } from '../support/tmp.js';

interface Case {
  name: string;
  entries: ZipEntry[];
  /** Text the message must contain (the offending entry), besides the archive path. */
  names: string;
  /** Pattern for the reason. */
  why: RegExp;
  limits?: Partial<Limits>;
  /** Refused from the central directory alone: the destination must stay empty. */
  nothingWritten?: boolean;
}

const file = (name: string, content = 'x'): ZipEntry => ({ name, content });
const cases: Case[] = [
  { name: 'absolute path', entries: [file('ok'), file('/tmp/evil')], names: '/tmp/evil', why: /absolute/, nothingWritten: true },
  { name: 'dot-dot segment', entries: [file('../evil')], names: '../evil', why: /"\.\."/, nothingWritten: true },
  { name: 'dot-dot inside', entries: [file('a/b/../../../evil')], names: 'a/b/../../../evil', why: /"\.\."/, nothingWritten: true },
  { name: 'backslash dot-dot', entries: [file('..\\..\\evil')], names: '..\\\\..\\\\evil', why: /"\.\."/, nothingWritten: true },
  { name: 'backslash absolute', entries: [file('\\evil')], names: '\\\\evil', why: /absolute/, nothingWritten: true },
  { name: 'drive letter', entries: [file('C:\\evil')], names: 'C:\\\\evil', why: /drive letter/, nothingWritten: true },
  { name: 'drive letter, slash', entries: [file('c:/evil')], names: 'c:/evil', why: /drive letter/, nothingWritten: true },
  { name: 'NUL byte', entries: [file('a\0b.txt')], names: 'a\\u0000b.txt', why: /NUL/, nothingWritten: true },
  { name: 'symlink to absolute path', entries: [{ name: 'etc', symlink: '/etc' }], names: 'etc', why: /absolute target/, nothingWritten: true },
  { name: 'symlink leading outside', entries: [file('a/x'), { name: 'a/up', symlink: '../../outside' }], names: 'a/up', why: /outside the release/, nothingWritten: true },
  {
    name: 'symlink escaping through another link',
    entries: [file('sub/f'), { name: 'sub/up', symlink: '..' }, { name: 'sub/x', symlink: 'up/..' }],
    names: 'sub/x',
    why: /outside the release/,
    nothingWritten: true,
  },
  { name: 'symlink loop', entries: [{ name: 'a', symlink: 'b' }, { name: 'b', symlink: 'a' }], names: '"a"', why: /loop/, nothingWritten: true },
  {
    name: 'file written through a symlink entry',
    entries: [file('sub/keep'), { name: 'a', symlink: 'sub' }, file('a/passwd')],
    names: 'a/passwd',
    why: /through symlink "a"/,
    nothingWritten: true,
  },
  { name: 'file below a file', entries: [file('f'), file('f/x')], names: 'f/x', why: /below file "f"/, nothingWritten: true },
  { name: 'duplicate entry', entries: [file('dup', 'one'), file('dup', 'two')], names: 'dup', why: /duplicate/, nothingWritten: true },
  { name: 'duplicate via normalisation', entries: [file('a/b'), file('a//b')], names: 'a//b', why: /duplicate/, nothingWritten: true },
  { name: 'fifo', entries: [{ name: 'pipe', content: '', mode: 0o010644 }], names: 'pipe', why: /not a regular file/, nothingWritten: true },
  { name: 'encrypted entry', entries: [{ name: 'secret', content: 'x', patch: { flags: 1 } }], names: 'secret', why: /encrypted/, nothingWritten: true },
  { name: 'unsupported method', entries: [{ name: 'bz', content: 'x', patch: { method: 12 } }], names: 'bz', why: /method 12/, nothingWritten: true },
  { name: 'too many entries', entries: [file('1'), file('2'), file('3')], limits: { maxEntries: 2 }, names: '3 entries', why: /limit of 2/, nothingWritten: true },
  { name: 'declared size over limit', entries: [file('big', 'y'.repeat(5000))], limits: { maxUnpackedBytes: 4096 }, names: '5000 bytes', why: /limit of 4096/, nothingWritten: true },
  {
    name: 'zip bomb: inflates beyond its declared size',
    entries: [file('small'), { name: 'bomb', content: Buffer.alloc(4 * 1024 * 1024), patch: { uncompressedSize: 100 } }],
    limits: { maxUnpackedBytes: 1000 },
    names: 'bomb',
    why: /beyond its declared size/,
  },
  {
    name: 'zip bomb, streamed entry',
    entries: [{ name: 'stream-bomb', content: randomBytes(3 * 1024 * 1024), patch: { uncompressedSize: 100 } }],
    names: 'stream-bomb',
    why: /beyond its declared size/,
  },
];

for (const c of cases) {
  test(`refuses: ${c.name}`, async () => {
    const root = testdir();
    const archive = join(root, 'app.zip');
    const dest = join(root, 'dest');
    mkdirSync(dest);
    writeFileSync(archive, await makeZip(c.entries));
    const limits = { ...defaultLimits, ...c.limits };
    await assert.rejects(extractZip(archive, dest, { limits }), (error: unknown) => {
      assert.ok(error instanceof VerificationError, `expected VerificationError, got ${String(error)}`);
      assert.ok(error.message.includes(archive), `message names the archive: ${error.message}`);
      assert.ok(error.message.includes(c.names), `message names ${c.names}: ${error.message}`);
      assert.match(error.message, c.why);
      return true;
    });
    assert.deepEqual(readdirSync(root).sort(), ['app.zip', 'dest']);
    if (c.nothingWritten) assert.deepEqual(readdirSync(dest), []);
  });
}
