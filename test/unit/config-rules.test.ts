// The named rules of src/config/rules.ts, one by one: each reports every problem it finds and
// nothing for a good configuration. Inputs are built by the loader's own parser from raw values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from '../../src/config/build-app.js';
import type { RawLayer } from '../../src/config/raw-layers.js';
import {
  awsKeysTogether,
  distinctDeployDirs,
  etcdAuthTogether,
  etcdFilesExist,
  gitFilesExist,
  gitVerifyHasSigners,
  hookDirsExist,
  minisignKeyIsValid,
  ownerExists,
  remoteIsValid,
  type RuleInput,
} from '../../src/config/rules.js';
import type { ConfigIssue } from '../../src/errors.js';
import { testdir } from '../support/tmp.js';

const remote = 'https://example.com/app.zip';

/** The rule input the loader builds for these raw values (paths relative to `base`). */
function input(values: Record<string, string>, base = testdir(), name = 'default'): RuleInput {
  const layer: RawLayer = new Map(Object.entries(values).map(([key, raw]) => [key, { raw, source: 'test.cfg:1', base }]));
  const issues: ConfigIssue[] = [];
  const app = buildApp(name, layer, base, issues);
  assert.deepEqual(issues, [], 'the values parse');
  return { app, layer };
}

const keys = (problems: { key: string }[]) => problems.map((p) => p.key);

test('remoteIsValid: missing is required; malformed gives the kind\'s message, never the value', () => {
  assert.deepEqual(remoteIsValid(input({ remote })), []);
  assert.match(remoteIsValid(input({}))[0]!.message, /^required/);
  const bad = remoteIsValid(input({ remote: 's3://AKIA:hunter2pass@bucket/app.zip' }));
  assert.equal(bad.length, 1);
  assert.equal(bad[0]!.secret, true);
  assert.doesNotMatch(bad[0]!.message, /hunter2pass/);
});

test('remoteIsValid: the remote is parsed once, into a spec of its kind with only that kind\'s settings', () => {
  const { app } = input({ remote: 'git@example.com:org/app.git/web#main', 'aws-access-key': 'AKIAQQQQ', 'aws-secret-key': 'S3CR3TVALUE' });
  assert.equal(app.remoteSpec?.kind, 'git');
  assert.match(app.remoteSpec?.display ?? '', /^git@example\.com:org\/app\.git/);
  assert.equal(/AKIAQQQQ|S3CR3TVALUE/.test(JSON.stringify(app.remoteSpec)), false, 'no AWS settings handed to git');
});

test('awsKeysTogether: one without the other names the missing one', () => {
  assert.deepEqual(awsKeysTogether(input({ remote, 'aws-access-key': 'AKIA', 'aws-secret-key': 's' })), []);
  assert.deepEqual(keys(awsKeysTogether(input({ remote, 'aws-access-key': 'AKIA' }))), ['aws-secret-key']);
  assert.deepEqual(keys(awsKeysTogether(input({ remote, 'aws-secret-key': 's' }))), ['aws-access-key']);
});

test('hookDirsExist: reports both named directories that are missing, not defaults', () => {
  const base = testdir({ 'pre/keep': '' });
  assert.deepEqual(hookDirsExist(input({ remote }, base)), []);
  assert.deepEqual(hookDirsExist(input({ remote, 'pre-hooks': 'pre' }, base)), []);
  assert.deepEqual(keys(hookDirsExist(input({ remote, 'pre-hooks': 'nope1', 'post-hooks': 'nope2' }, base))), ['pre-hooks', 'post-hooks']);
});

test('gitFilesExist: every missing file is reported', () => {
  const base = testdir({ 'id_ed25519': 'key' });
  assert.deepEqual(gitFilesExist(input({ remote, 'git-ssh-key': 'id_ed25519' }, base)), []);
  const problems = gitFilesExist(input({ remote, 'git-ssh-key': 'a', 'git-known-hosts': 'b', 'git-allowed-signers': 'c' }, base));
  assert.deepEqual(keys(problems), ['git-ssh-key', 'git-known-hosts', 'git-allowed-signers']);
});

test('minisignKeyIsValid: an unreadable key file, and a key that does not parse', () => {
  assert.deepEqual(minisignKeyIsValid(input({ remote })), []);
  const missing = minisignKeyIsValid(input({ remote, 'minisign-key-file': 'gone.pub' }));
  assert.deepEqual(keys(missing), ['minisign-key-file']);
  assert.match(missing[0]!.message, /cannot read the minisign public key file: ENOENT/);
  assert.deepEqual(keys(minisignKeyIsValid(input({ remote, 'minisign-key': 'not-a-key' }))), ['minisign-key']);
});

test('etcdAuthTogether: user without password and password without user', () => {
  assert.deepEqual(etcdAuthTogether(input({ remote, 'etcd-user': 'u', 'etcd-password': 'p' })), []);
  assert.deepEqual(keys(etcdAuthTogether(input({ remote, 'etcd-user': 'u' }))), ['etcd-password']);
  assert.deepEqual(keys(etcdAuthTogether(input({ remote, 'etcd-password': 'p' }))), ['etcd-user']);
});

test('etcdFilesExist: every missing PEM file is reported', () => {
  const base = testdir({ 'ca.pem': 'x' });
  assert.deepEqual(etcdFilesExist(input({ remote, 'etcd-ca': 'ca.pem' }, base)), []);
  assert.deepEqual(keys(etcdFilesExist(input({ remote, 'etcd-ca': 'x.pem', 'etcd-cert': 'y.pem', 'etcd-key': 'z.pem' }, base))), ['etcd-ca', 'etcd-cert', 'etcd-key']);
});

test('ownerExists: root and numeric ids pass, an unknown user or group does not', () => {
  assert.deepEqual(ownerExists(input({ remote, owner: 'root:root' })), []);
  assert.deepEqual(ownerExists(input({ remote, owner: '1234:5678' })), []);
  assert.deepEqual(keys(ownerExists(input({ remote, owner: 'no-such-user-here' }))), ['owner']);
  assert.deepEqual(keys(ownerExists(input({ remote, owner: 'root:no-such-group-here' }))), ['owner']);
});

test('gitVerifyHasSigners: git-verify without allowed signers', () => {
  const base = testdir({ signers: 'x' });
  assert.deepEqual(gitVerifyHasSigners(input({ remote, 'git-verify': 'tag', 'git-allowed-signers': 'signers' }, base)), []);
  assert.deepEqual(keys(gitVerifyHasSigners(input({ remote, 'git-verify': 'commit' }))), ['git-verify']);
});

test('distinctDeployDirs: every app sharing an earlier app\'s directory is reported', () => {
  const base = testdir();
  const at = (name: string, local: string) => input({ remote, local }, base, name).app;
  const apps = [at('a', '/srv/x/current'), at('b', '/srv/x/other'), at('c', '/srv/y/current'), at('d', '/srv/x/third')];
  assert.deepEqual(distinctDeployDirs(apps).map((i) => i.key), ['[app b] local', '[app d] local']);
});
