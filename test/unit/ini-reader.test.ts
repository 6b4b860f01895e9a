import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readIni } from '../../src/config/ini-reader.js';
import { loadConfig } from '../../src/config/load.js';
import { testdir } from '../support/tmp.js';

// The reader's ConfigParser rules, one by one; the end-to-end tests in test/e2e/config-file.test.ts
// show them through the CLI.

test('values verbatim, comments only as whole lines, key: value, keys lower-cased', () => {
  const doc = readIni('# c\n  ; indented comment\nRemote = a#b;c \nPass: p#;w\nempty =\n');
  assert.deepEqual(doc.problems, []);
  assert.deepEqual(doc.sections[0]!.entries, [
    { key: 'remote', value: 'a#b;c', line: 3 },
    { key: 'pass', value: 'p#;w', line: 4 },
    { key: 'empty', value: '', line: 5 },
  ]);
});

test('continuation lines: deeper indentation continues the value; blank lines inside are kept', () => {
  const doc = readIni('etcd = http://a:2379,\n   http://b:2379\n\n   http://c:2379\n\nkeep = 3\n  [app x]\n');
  const [etcd, keep] = doc.sections[0]!.entries;
  assert.equal(etcd!.value, 'http://a:2379,\nhttp://b:2379\n\nhttp://c:2379');
  assert.equal(keep!.value, '3\n[app x]', 'an indented line under a key continues it, as in ConfigParser');
  // Keys indented alike are separate keys.
  const same = readIni('[app w]\n  remote = r\n  keep = 2\n');
  assert.deepEqual(same.sections[1]!.entries.map((e) => e.key), ['remote', 'keep']);
});

test('CRLF line ends, a byte-order mark, and a comment after a section header', () => {
  const doc = readIni('\uFEFFkeep = 1\r\n[app web] ; the site\r\nremote = r\r\n');
  assert.deepEqual(doc.problems, []);
  assert.equal(doc.sections[0]!.entries[0]!.value, '1');
  assert.equal(doc.sections[1]!.name, 'app web');
  assert.equal(doc.sections[1]!.entries[0]!.value, 'r');
});

test('problems carry their line: malformed header, text after ], empty key, no delimiter, duplicate section', () => {
  const doc = readIni('[app a\n[app b] x\n= v\nword\n[app c]\n[app c]\nk = v\n');
  assert.deepEqual(doc.problems.map((p) => p.line), [1, 2, 3, 4, 6]);
  assert.match(doc.problems[4]!.message, /duplicate section \[app c\]: already started on line 5/);
  // Keys under a refused header belong to no section (not to the one before).
  assert.deepEqual(doc.sections.map((s) => s.name), [null, 'app c']);
  assert.deepEqual(doc.sections[1]!.entries, []);
});

test('secrets holding # and ; reach the app whole', () => {
  const dir = testdir({ 'repo-deploy.cfg': 'remote = s3://bucket/app.zip\naws-access-key = AKIA#1\naws-secret-key = s3cr#t;x\n' });
  const app = loadConfig({ configFile: join(dir, 'repo-deploy.cfg'), cwd: dir }).apps[0]!;
  assert.equal(app.awsAccessKey, 'AKIA#1');
  assert.equal(app.awsSecretKey, 's3cr#t;x');
});
