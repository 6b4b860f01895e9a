// The end of central directory record: the last one only, zip64 only where the format says so,
// data before the archive shifted as unzip and Python shift it. Each archive is also handed to
// `unzip` (and where it matters Python's `zipfile`) to show which reading is the right one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eocdOf, ours, pyZip, pythonReads, theirs } from './fixtures.js';

test('a last record whose comment runs past the end is refused, never an earlier record used', async () => {
  const zip = pyZip([{ name: 'app.txt', data: 'reviewed' }]);
  const at = eocdOf(zip);
  // A copy of the record, appended, claiming a 100-byte comment that is not there.
  const fake = Buffer.from(zip.subarray(at, at + 22));
  fake.writeUInt16LE(100, 20);
  const result = await ours(Buffer.concat([zip, fake]));
  assert.ok('error' in result, 'refused');
  assert.match(result.error, /comment \(100 bytes\) runs past the end of the file/);
  assert.ok(result.error.includes(result.archive));
  assert.ok('error' in pythonReads(Buffer.concat([zip, fake])), 'python does not read the earlier record either');
});

test('two archives back to back: the last record wins, as with unzip and Python', async () => {
  const first = pyZip([{ name: 'app.txt', data: 'first' }]);
  const second = pyZip([{ name: 'app.txt', data: 'second' }, { name: 'only-second.txt', data: '2' }]);
  const both = Buffer.concat([first, second]);
  const result = await ours(both);
  assert.deepEqual(result, { ok: { 'app.txt': 'file 644 second', 'only-second.txt': 'file 644 2' }, archive: result.archive });
  assert.deepEqual(theirs(both), { ok: (result as { ok: object }).ok });
  assert.deepEqual(pythonReads(both), { 'app.txt': 'second', 'only-second.txt': '2' });
});

test('data before the archive (self-extractor stub) is skipped as unzip skips it', async () => {
  const zip = pyZip([{ name: 'bin/run.sh', data: 'echo hi\n', mode: 0o100755 }, { name: 'web/index.html', data: '<p>hi</p>'.repeat(50) }]);
  const stub = Buffer.concat([Buffer.from('#!/bin/sh\nexit 0\n'), Buffer.alloc(4000, 0x90)]);
  const sfx = Buffer.concat([stub, zip]);
  const result = await ours(sfx);
  assert.ok('ok' in result, JSON.stringify(result));
  assert.equal(result.ok['web/index.html'], `file 644 ${'<p>hi</p>'.repeat(50)}`);
  assert.deepEqual(theirs(sfx), { ok: result.ok });
});

test('prepended data whose central directory is only found unshifted gets its own message', async () => {
  const zip = pyZip([{ name: 'a.txt', data: 'a' }]);
  // The record claims a directory 7 bytes shorter than it is: unzip "compensates", Python does not.
  const bad = Buffer.from(zip);
  const at = eocdOf(bad);
  bad.writeUInt32LE(bad.readUInt32LE(at + 12) - 7, at + 12);
  const result = await ours(bad);
  assert.ok('error' in result);
  assert.match(result.error, /7 bytes precede the archive .* not at the shifted offset/);
});

test('a size of exactly 0xffffffff without a zip64 field is a literal size, not zip64', async () => {
  const zip = pyZip([{ name: 'a.txt', data: 'hello' }]);
  const central = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  zip.writeUInt32LE(0xffffffff, central + 24);
  zip.writeUInt32LE(0xffffffff, 22); // the local header, at offset 0
  const result = await ours(zip);
  assert.ok('error' in result);
  assert.doesNotMatch(result.error, /zip64/);
  assert.match(result.error, /entry "a.txt" has 5 bytes, 4294967295 declared/);
});

/** A zip whose last central entry's comment ends with a would-be zip64 locator. */
function withLocatorBytes(totalDisks: number): Buffer {
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeUInt32LE(0, 4);
  locator.writeBigUInt64LE(12n, 8);
  locator.writeUInt32LE(totalDisks, 16);
  return pyZip([{ name: 'a.txt', data: 'a' }, { name: 'b.txt', data: 'b', comment: Buffer.concat([Buffer.from('note '), locator]) }]);
}

test('PK\\6\\7 right before the record with no saturated field is not taken as a zip64 locator', async () => {
  const zip = withLocatorBytes(0);
  const result = await ours(zip);
  assert.deepEqual(result, { ok: { 'a.txt': 'file 644 a', 'b.txt': 'file 644 b' }, archive: result.archive });
  assert.deepEqual(theirs(zip), { ok: (result as { ok: object }).ok });
});

test('a would-be locator that unzip follows and Python ignores is refused', async () => {
  const zip = withLocatorBytes(1);
  assert.ok('error' in theirs(zip), 'unzip fails on it');
  const result = await ours(zip);
  assert.ok('error' in result);
  assert.match(result.error, /zip64 end of central directory locator is present but no zip64 record/);
});

test('a saturated entry count without a zip64 record is a literal 65535, as unzip and Python read it', async () => {
  const zip = pyZip([{ name: 'a.txt', data: 'a' }]);
  zip.writeUInt16LE(0xffff, eocdOf(zip) + 10);
  const result = await ours(zip);
  assert.ok('error' in result);
  assert.match(result.error, /central directory is cut short at entry 1 of 65535/);
  assert.doesNotMatch(result.error, /zip64/);
});

test('entry count and directory size that disagree are refused (unzip reads by count, Python by size)', async () => {
  const zip = pyZip([{ name: 'a.txt', data: 'a' }, { name: 'b.txt', data: 'b' }]);
  const at = eocdOf(zip);
  zip.writeUInt16LE(1, at + 8);
  zip.writeUInt16LE(1, at + 10);
  const result = await ours(zip);
  assert.ok('error' in result);
  assert.match(result.error, /entry count and size disagree/);
});

test('garbage with a non-zero disk field is "not a zip", not a multi-disk archive', async () => {
  const garbage = Buffer.alloc(300, 0x41);
  garbage.writeUInt32LE(0x06054b50, 200);
  garbage.writeUInt16LE(3, 204);
  garbage.writeUInt16LE(0, 220);
  const result = await ours(garbage.subarray(0, 222));
  assert.ok('error' in result);
  assert.match(result.error, /is not a zip file, or is corrupt/);
  assert.doesNotMatch(result.error, /multi-disk archives are not supported/);
});
