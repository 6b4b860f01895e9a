// Entries as unzip reads them: names (CP437, Unicode Path field, backslashes), local headers
// and data descriptors that must agree with the central directory, directory entries without
// data, methods named in words, and modification times restored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { extractZip } from '../../src/extract/zip.js';
import { defaultLimits } from '../../src/config/types.js';
import { ours, pyZip, pythonReads, theirs } from './fixtures.js';
import { testdir } from '../support/tmp.js';

/** Replaces every occurrence of `from` (same length as `to`) in `zip`: both headers' names. */
function rename(zip: Buffer, from: string, to: Buffer): Buffer {
  const out = Buffer.from(zip);
  for (let at = out.indexOf(from); at >= 0; at = out.indexOf(from, at + 1)) to.copy(out, at);
  return out;
}

/** Sets "version made by" (host) of every central entry. */
function madeBy(zip: Buffer, host: number): Buffer {
  const out = Buffer.from(zip);
  const sig = Buffer.from([0x50, 0x4b, 0x01, 0x02]);
  for (let at = out.indexOf(sig); at >= 0; at = out.indexOf(sig, at + 1)) out[at + 5] = host;
  return out;
}

test('names without the UTF-8 flag are CP437, as Python reads them (no false duplicates), but UTF-8 from unix stays UTF-8', async () => {
  const base = pyZip([{ name: 'cafX.txt', data: 'e-acute' }, { name: 'cafY.txt', data: 'e-grave' }]);
  const zip = madeBy(rename(rename(base, 'cafX', Buffer.from('caf\x82', 'latin1')), 'cafY', Buffer.from('caf\x8a', 'latin1')), 0);
  const result = await ours(zip);
  assert.ok('ok' in result, JSON.stringify(result));
  assert.deepEqual(result.ok, { 'café.txt': 'file 644 e-acute', 'cafè.txt': 'file 644 e-grave' });
  assert.deepEqual(pythonReads(zip), { 'café.txt': 'e-acute', 'cafè.txt': 'e-grave' });

  // Info-ZIP zip on a UTF-8 system stores UTF-8 names without flag or 0x7075; unzip writes
  // them unchanged, and so do we (CP437 would turn them into mojibake).
  const src = testdir({ 'café/naïve.txt': 'n', 'plain.txt': 'p' });
  const archive = join(testdir(), 'x.zip');
  execFileSync('zip', ['-q', '-r', archive, '.'], { cwd: src, env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  const infoZip = readFileSync(archive);
  assert.equal(infoZip.readUInt16LE(6) & 0x800, 0, 'no UTF-8 flag');
  const unix = await ours(infoZip);
  assert.ok('ok' in unix, JSON.stringify(unix));
  assert.equal(unix.ok['café/naïve.txt'], 'file 644 n');
  assert.deepEqual(theirs(infoZip), { ok: unix.ok });
});

test('a CP932 name with a 0x5c trail byte keeps it in the name when made on unix, as unzip does', async () => {
  const zip = rename(pyZip([{ name: 'QQ.txt', data: 'x' }]), 'QQ', Buffer.from([0x95, 0x5c]));
  const result = await ours(zip);
  assert.deepEqual(result, { ok: { 'ò\\.txt': 'file 644 x' }, archive: result.archive });
});

test('backslashes separate only in MS-DOS names without a slash, as unzip reads them', async () => {
  const zip = madeBy(pyZip([{ name: 'a\\b.txt', data: 'ab' }, { name: 'q/x\\y', data: 'xy' }]), 0);
  const result = await ours(zip);
  assert.deepEqual(result, { ok: { a: 'dir 755', 'a/b.txt': 'file 644 ab', q: 'dir 755', 'q/x\\y': 'file 644 xy' }, archive: result.archive });
  assert.deepEqual(theirs(zip), { ok: (result as { ok: object }).ok });
});

/** Info-ZIP Unicode Path extra field for `name`, checked against `stored`. */
function unicodePath(name: string, stored: string): Buffer {
  const utf8 = Buffer.from(name);
  const field = Buffer.alloc(9 + utf8.length);
  field.writeUInt16LE(0x7075, 0);
  field.writeUInt16LE(5 + utf8.length, 2);
  field[4] = 1;
  field.writeUInt32LE(crc32(Buffer.from(stored, 'latin1')), 5);
  utf8.copy(field, 9);
  return field;
}

test('the Unicode Path field (0x7075) names the entry when its CRC matches the stored name', async () => {
  const zip = madeBy(pyZip([
    { name: 'dok_1.txt', data: 'one', extra: unicodePath('Dokument-Ü.txt', 'dok_1.txt') },
    { name: 'dok_2.txt', data: 'two', extra: unicodePath('ignored.txt', 'some other name') },
  ]), 0);
  const result = await ours(zip);
  assert.deepEqual(result, { ok: { 'Dokument-Ü.txt': 'file 644 one', 'dok_2.txt': 'file 644 two' }, archive: result.archive });
  assert.deepEqual(theirs(zip), { ok: (result as { ok: object }).ok });
});

test('duplicates are judged on the decoded names', async () => {
  const zip = pyZip([{ name: 'report.txt', data: 'a' }, { name: 'rXport.txt', data: 'b', extra: unicodePath('report.txt', 'rXport.txt') }]);
  const result = await ours(zip);
  assert.ok('error' in result);
  assert.match(result.error, /entry "report.txt" is a duplicate/);
});

test('laxness refused: a directory entry with data, an overrunning extra field, a local header that disagrees', async () => {
  const dir = await ours(pyZip([{ name: 'd/', data: 'hidden', stored: true }]));
  assert.ok('error' in dir);
  assert.match(dir.error, /entry "d\/" is a directory entry carrying 6 bytes of data/);

  const overrun = Buffer.from([0xfe, 0xca, 10, 0, 1, 2]);
  const extra = await ours(pyZip([{ name: 'x.txt', data: 'x', extra: overrun }]));
  assert.ok('error' in extra);
  assert.match(extra.error, /entry "x.txt" has an extra field whose length runs past its record/);

  const zip = pyZip([{ name: 'a.txt', data: 'aaaa', stored: true }]);
  zip.writeUInt32LE((zip.readUInt32LE(14) ^ 1) >>> 0, 14); // local CRC only: unzip checks this one, Python the other
  const local = await ours(zip);
  assert.ok('error' in local);
  assert.match(local.error, /entry "a.txt" has a different CRC in its local header/);
});

test('a data descriptor must repeat the central directory: streamed zip read, tampered one refused', async () => {
  const src = testdir({ 'h.txt': 'hello descriptor\n'.repeat(20) });
  const zip = execFileSync('sh', ['-c', 'zip -q - h.txt | cat'], { cwd: src });
  assert.equal(zip.readUInt16LE(6) & 8, 8, 'zip wrote a data descriptor');
  const good = await ours(zip);
  assert.deepEqual(good, { ok: { 'h.txt': `file 644 ${'hello descriptor\n'.repeat(20)}` }, archive: good.archive });

  const bad = Buffer.from(zip);
  const descriptor = bad.indexOf(Buffer.from([0x50, 0x4b, 0x07, 0x08]));
  bad.writeUInt32LE((bad.readUInt32LE(descriptor + 4) ^ 0xff) >>> 0, descriptor + 4);
  const result = await ours(bad);
  assert.ok('error' in result);
  assert.match(result.error, /entry "h.txt" has a data descriptor whose CRC or sizes differ/);
});

test('messages: methods and encryption in words, the out-of-range field and entry named, encrypted central directory', async () => {
  const method = (m: number, flags = 0) => {
    const zip = pyZip([{ name: 'm.bin', data: 'x', stored: true }]);
    const central = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    for (const at of [0, central + 2]) {
      zip.writeUInt16LE(m, at + 8);
      zip.writeUInt16LE(flags, at + 6);
    }
    return ours(zip);
  };
  for (const [m, name] of [[12, 'bzip2'], [14, 'LZMA'], [93, 'zstd'], [95, 'xz'], [98, 'PPMd']] as const) {
    const r = await method(m);
    assert.ok('error' in r);
    assert.match(r.error, new RegExp(`entry "m.bin" uses compression method ${m} \\(${name}\\)`));
  }
  const aes = await method(99, 1);
  assert.ok('error' in aes);
  assert.match(aes.error, /entry "m.bin" is AES-encrypted/);

  const wide = Buffer.alloc(12);
  wide.writeUInt16LE(1, 0);
  wide.writeUInt16LE(8, 2);
  wide.writeBigUInt64LE(1n << 62n, 4);
  const zip = pyZip([{ name: 'huge.bin', data: 'x', stored: true, extra: wide }]);
  zip.writeUInt32LE(0xffffffff, zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 24);
  const range = await ours(zip);
  assert.ok('error' in range);
  assert.match(range.error, /64-bit field out of range: uncompressed size of entry "huge.bin"/);

  const sealed = pyZip([{ name: 'a.txt', data: 'a' }]);
  sealed.writeUInt32LE(0x08064b50, sealed.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])));
  const cd = await ours(sealed);
  assert.ok('error' in cd);
  assert.match(cd.error, /encrypted central directory/);
});

test('modification times: extended timestamp as unzip sets it, else the DOS time in local time; directories too', async () => {
  const src = testdir({ 'web/index.html': '<p>', 'app.js': 'x' });
  const when = new Date('2001-02-03T04:05:06Z');
  utimesSync(join(src, 'web/index.html'), when, when);
  utimesSync(join(src, 'web'), new Date('2002-01-01T00:00:00Z'), new Date('2002-01-01T00:00:00Z'));
  const root = testdir();
  const archive = join(root, 'app.zip');
  execFileSync('zip', ['-q', '-r', archive, '.'], { cwd: src });
  const dest = join(root, 'ours');
  mkdirSync(dest);
  await extractZip(archive, dest, { limits: defaultLimits });
  execFileSync('unzip', ['-qq', archive, '-d', join(root, 'theirs')]);
  for (const path of ['web/index.html', 'app.js', 'web']) {
    assert.equal(statSync(join(dest, path)).mtimeMs, statSync(join(root, 'theirs', path)).mtimeMs, path);
  }
  assert.equal(statSync(join(dest, 'web/index.html')).mtimeMs, when.getTime());

  const dos = pyZip([{ name: 'old.txt', data: 'o', dateTime: [1999, 12, 31, 23, 59, 58] }]);
  writeFileSync(join(root, 'dos.zip'), dos);
  const dosDest = join(root, 'dos');
  mkdirSync(dosDest);
  await extractZip(join(root, 'dos.zip'), dosDest, { limits: defaultLimits });
  execFileSync('unzip', ['-qq', join(root, 'dos.zip'), '-d', join(root, 'dos-theirs')]);
  assert.equal(statSync(join(dosDest, 'old.txt')).mtimeMs, new Date(1999, 11, 31, 23, 59, 58).getTime());
  assert.equal(statSync(join(dosDest, 'old.txt')).mtimeMs, statSync(join(root, 'dos-theirs/old.txt')).mtimeMs);
});
