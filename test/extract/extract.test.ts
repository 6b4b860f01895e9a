// What a good archive turns into: contents, modes, directories, symlinks, zip64, archives
// made by Info-ZIP `zip` compared with what `unzip` makes of them; and the corrupt ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractZip } from '../../src/extract/zip.js';
import { VerificationError } from '../../src/errors.js';
import { defaultLimits } from '../../src/config/types.js';
import { entryLayout, makeZip, type MakeZipOptions, type ZipEntry } from '../support/zip.js';
import { snapshot, testdir, writeTree } from '../support/tmp.js';

// zip and unzip come from test/support/tools.mjs (run by the suite); missing, the test fails.
const limits = defaultLimits;

async function extract(entries: ZipEntry[] | Buffer, options: MakeZipOptions = {}) {
  const root = testdir();
  const archive = join(root, 'app.zip');
  const dest = join(root, 'dest');
  mkdirSync(dest);
  writeFileSync(archive, Buffer.isBuffer(entries) ? entries : await makeZip(entries, options));
  return { archive, dest, run: () => extractZip(archive, dest, { limits }) };
}


test('contents and modes: 0755 with any execute bit, 0644 without, directories 0755', async () => {
  const { dest, run } = await extract([
    { name: 'bin/run', content: '#!/bin/sh\necho hi\n', mode: 0o100755 },
    { name: 'README', content: 'read me', mode: 0o100644 },
    { name: 'private', content: 'p', mode: 0o100600 },
    { name: 'suid', content: 's', mode: 0o104755 },
    { name: 'conf/', directory: true, mode: 0o40750 },
    { name: 'conf/app.ini', content: 'a=1' },
  ]);
  const result = await run();
  assert.deepEqual(result, { files: 5, bytes: 18 + 7 + 1 + 1 + 3 });
  assert.deepEqual(snapshot(dest), {
    README: 'file 644 read me',
    bin: 'dir 755',
    'bin/run': 'file 755 #!/bin/sh\necho hi\n',
    conf: 'dir 755',
    'conf/app.ini': 'file 644 a=1',
    private: 'file 644 p',
    suid: 'file 755 s',
  });
  assert.equal(execFileSync(join(dest, 'bin/run'), { encoding: 'utf8' }), 'hi\n');
});

test('archives without unix modes (made on Windows) get 0644 files and 0755 dirs', async () => {
  const dos = { madeBy: 0, externalAttributes: 0x20 };
  const { dest, run } = await extract([
    { name: 'web/index.html', content: '<p>', patch: dos },
    { name: 'empty/', directory: true, patch: { madeBy: 0, externalAttributes: 0x10 } },
    { name: 'tool.exe', content: 'MZ', patch: dos },
  ]);
  await run();
  assert.deepEqual(snapshot(dest), { empty: 'dir 755', 'tool.exe': 'file 644 MZ', web: 'dir 755', 'web/index.html': 'file 644 <p>' });
});

test('empty dirs, nested dirs without dir entries, read-only dirs come out 0755 like the rest', async () => {
  const { dest, run } = await extract([
    { name: 'a/b/c/deep.txt', content: 'deep' },
    { name: 'empty/', directory: true },
    { name: 'ro/', directory: true, mode: 0o40555 },
    { name: 'ro/inside', content: 'i' },
  ]);
  await run();
  assert.deepEqual(snapshot(dest), {
    a: 'dir 755',
    'a/b': 'dir 755',
    'a/b/c': 'dir 755',
    'a/b/c/deep.txt': 'file 644 deep',
    empty: 'dir 755',
    ro: 'dir 755',
    'ro/inside': 'file 644 i',
  });
});

test('symlinks inside the release are kept and resolve', async () => {
  const { dest, run } = await extract([
    { name: 'releases/v1/app.js', content: 'v1' },
    { name: 'app', symlink: 'releases/v1' },
    { name: 'lib/main.js', symlink: '../releases/v1/app.js' },
    { name: 'lib/self', symlink: '..' },
    { name: 'dangling', symlink: 'not-there-yet' },
  ]);
  const result = await run();
  assert.equal(result.files, 1);
  assert.equal(readlinkSync(join(dest, 'app')), 'releases/v1');
  assert.equal(readFileSync(join(dest, 'app/app.js'), 'utf8'), 'v1');
  assert.equal(readFileSync(join(dest, 'lib/main.js'), 'utf8'), 'v1');
  assert.equal(statSync(join(dest, 'lib/self')).ino, statSync(dest).ino);
  assert.equal(readlinkSync(join(dest, 'dangling')), 'not-there-yet');
});

test('zip64 archive', async () => {
  const big = randomBytes(2 * 1024 * 1024); // streamed path
  const { dest, run } = await extract(
    [
      { name: 'small.txt', content: 'small '.repeat(1000) },
      { name: 'big.bin', content: big },
      { name: 'x/run.sh', content: 'exit 0', mode: 0o100755 },
    ],
    { zip64: true },
  );
  const result = await run();
  assert.deepEqual(result, { files: 3, bytes: 6000 + big.length + 6 });
  assert.ok(readFileSync(join(dest, 'big.bin')).equals(big));
  assert.equal(statSync(join(dest, 'x/run.sh')).mode & 0o777, 0o755);
});

test('an archive made by Info-ZIP zip extracts exactly as unzip extracts it', async () => {
  const src = testdir();
  writeTree(src, {
    'bin/start': { content: '#!/bin/sh\n', mode: 0o755 },
    'lib/util.js': 'export const x = 1;\n'.repeat(200),
    'lib/data.bin': { content: randomBytes(1_500_000) },
    'lib/medium.txt': 'medium text line\n'.repeat(5000),
    current: { symlink: 'lib' },
  });
  mkdirSync(join(src, 'docs/empty'), { recursive: true });
  const root = testdir();
  const archive = join(root, 'app.zip');
  execFileSync('zip', ['-q', '-r', '-y', archive, '.'], { cwd: src });
  const ours = join(root, 'ours');
  const theirs = join(root, 'theirs');
  mkdirSync(ours);
  execFileSync('unzip', ['-q', archive, '-d', theirs]);
  const result = await extractZip(archive, ours, { limits });
  assert.equal(result.files, 4);
  assert.deepEqual(snapshot(ours), snapshot(theirs));
  assert.equal(snapshot(ours)['bin/start'], 'file 755 #!/bin/sh\n');
});

test('a truncated archive is refused', async () => {
  const zip = await makeZip([{ name: 'a.txt', content: 'a'.repeat(10_000) }, { name: 'b.txt', content: 'b' }]);
  for (const length of [zip.length - 10, Math.floor(zip.length / 2), 10]) {
    const { archive, run } = await extract(zip.subarray(0, length));
    await assert.rejects(run(), (error: unknown) => error instanceof VerificationError && error.message.includes(archive) && /corrupt|truncated/.test(error.message));
  }
});

test('a bit flipped in an entry is refused: stored (CRC) and deflated', async () => {
  const stored = await makeZip([{ name: 'ok', content: 'fine' }, { name: 'flip.txt', content: 'hello world, stored' }], { compress: false });
  stored[entryLayout(stored).get('flip.txt')!.data + 3]! ^= 0x04;
  const first = await extract(stored);
  await assert.rejects(first.run(), /entry "flip.txt" fails its CRC check/);

  const text = Array.from({ length: 4000 }, (_, i) => `line ${i} of some text\n`).join('');
  const deflated = await makeZip([{ name: 'flip.txt', content: text }]);
  const where = entryLayout(deflated).get('flip.txt')!;
  deflated[where.data + Math.floor(where.compressedSize / 2)]! ^= 0x10;
  const second = await extract(deflated);
  await assert.rejects(second.run(), (error: unknown) => error instanceof VerificationError && /corrupt zip .*entry "flip.txt"/.test(error.message));
});

test('abort rejects promptly with the abort reason', async () => {
  const entries: ZipEntry[] = [{ name: 'big.bin', content: randomBytes(8 * 1024 * 1024) }];
  for (let i = 0; i < 300; i++) entries.push({ name: `f/${i}.txt`, content: `file ${i}\n`.repeat(50) });
  const { archive, dest } = await extract(entries, { compress: false });
  const reason = new Error('stop now');
  const before = new AbortController();
  before.abort(reason);
  await assert.rejects(extractZip(archive, dest, { limits, signal: before.signal }), (e) => e === reason);

  const during = new AbortController();
  const pending = extractZip(archive, join(testdir(), ''), { limits, signal: during.signal });
  setImmediate(() => during.abort(reason));
  await assert.rejects(pending, (e) => e === reason);
});

test('abort is seen during a long run of small files', async () => {
  const entries: ZipEntry[] = [];
  for (let i = 0; i < 3000; i++) entries.push({ name: `f/${i}.txt`, content: `file ${i}\n` });
  const { archive, dest } = await extract(entries);
  const reason = new Error('stop');
  const controller = new AbortController();
  const pending = extractZip(archive, dest, { limits, signal: controller.signal });
  setImmediate(() => controller.abort(reason));
  await assert.rejects(pending, (e) => e === reason);
  assert.ok(readdirSync(join(dest, 'f')).length < 3000, 'stopped before the end');
});
