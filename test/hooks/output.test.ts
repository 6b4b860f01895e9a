import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineSplitter, OutputTail, maxLineBytes, stripControl, tailLines } from '../../src/hooks/output.js';

const texts = (lines: { text: string }[]) => lines.map((l) => l.text);

describe('LineSplitter', () => {
  it('splits chunks into lines and keeps a partial line until the next chunk', () => {
    const s = new LineSplitter();
    assert.deepEqual(texts(s.push(Buffer.from('one\ntw'))), ['one']);
    assert.deepEqual(texts(s.push(Buffer.from('o\nthree'))), ['two']);
    assert.deepEqual(s.flush(), [{ text: 'three', cut: false, bytes: 5 }]);
    assert.deepEqual(s.flush(), []);
  });

  it('keeps empty lines and strips the carriage return of CRLF output', () => {
    const s = new LineSplitter();
    assert.deepEqual(texts(s.push(Buffer.from('a\r\n\nb\r\n'))), ['a', '', 'b']);
  });

  it('decodes a multi-byte character split across two chunks', () => {
    const bytes = Buffer.from('héllo\n');
    const s = new LineSplitter();
    assert.deepEqual(s.push(bytes.subarray(0, 2)), []);
    assert.deepEqual(texts(s.push(bytes.subarray(2))), ['héllo']);
  });

  it('cuts a long line at 8 KiB, drops the rest of it, and goes on with the next line', () => {
    const s = new LineSplitter();
    const long = 'x'.repeat(maxLineBytes + 5000);
    // Fed in small chunks, as a pipe delivers it.
    const input = Buffer.from(`${long}\nnext\n`);
    const lines = [];
    for (let i = 0; i < input.length; i += 1000) lines.push(...s.push(input.subarray(i, i + 1000)));
    assert.equal(lines.length, 2);
    assert.equal(lines[0]!.text.length, maxLineBytes);
    assert.equal(lines[0]!.cut, true);
    assert.equal(lines[0]!.bytes, maxLineBytes);
    assert.deepEqual(lines[1], { text: 'next', cut: false, bytes: 5 });
    assert.deepEqual(s.flush(), []);
  });

  it('does not cut a line of exactly 8 KiB', () => {
    const s = new LineSplitter();
    const lines = s.push(Buffer.from(`${'y'.repeat(maxLineBytes)}\n`));
    assert.deepEqual(lines.map((l) => [l.text.length, l.cut]), [[maxLineBytes, false]]);
  });
});

describe('stripControl', () => {
  const table: [string, string][] = [
    ['\x1b[31mred\x1b[0m', 'red'],
    ['\x1b[2J\x1b[1;1Hhome', 'home'],
    ['\x1b]0;title\x07after', 'after'],
    ['\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\', 'link'],
    ['\x9b31mc1', 'c1'],
    ['bell\x07 cr\r bs\b del\x7f nul\x00', 'bell cr bs del nul'],
    ['keep\ttab and unicode é ✓', 'keep\ttab and unicode é ✓'],
    ['lone \x1b(Bcharset', 'lone charset'],
  ];
  for (const [input, want] of table) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(want)}`, () => assert.equal(stripControl(input), want));
  }
  it('a line carries its raw byte count, CR and newline included', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push(Buffer.from('\x1b[1mé\x1b[0m\r\n')), [{ text: 'é', cut: false, bytes: 12 }]);
  });
});

describe('OutputTail', () => {
  it('keeps the last 50 lines, prefixed with the hook name', () => {
    const tail = new OutputTail();
    for (let i = 1; i <= 120; i++) tail.add(i % 2 ? '10-a' : '20-b', `line ${i}`);
    const kept = tail.snapshot();
    assert.equal(kept.length, tailLines);
    assert.equal(kept[0], '10-a: line 71');
    assert.equal(kept.at(-1), '20-b: line 120');
  });
});
