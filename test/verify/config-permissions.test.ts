import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { warnIfSecretsReadable } from '../../src/verify/config-permissions.js';
import { testdir } from '../support/tmp.js';

const dir = testdir({ 'repo-deploy.cfg': 'aws-secret-key = s3cr3t\n' });
const file = join(dir, 'repo-deploy.cfg');

test('owner-only modes: no warning', () => {
  for (const mode of [0o600, 0o400, 0o700]) {
    chmodSync(file, mode);
    assert.equal(warnIfSecretsReadable(file, true), undefined, mode.toString(8));
  }
});

test('group- or world-readable with secrets: warning names the file, who can read it and the fix', () => {
  chmodSync(file, 0o644);
  assert.equal(
    warnIfSecretsReadable(file, true),
    `config file ${file} holds credentials and is readable by its group and all users (mode 0644); run: chmod 600 ${file}`,
  );
  chmodSync(file, 0o640);
  assert.match(warnIfSecretsReadable(file, true)!, /readable by its group \(mode 0640\); run: chmod 600 /);
  chmodSync(file, 0o604);
  assert.match(warnIfSecretsReadable(file, true)!, /readable by all users \(mode 0604\)/);
});

test('no secrets, or no file: no warning', () => {
  chmodSync(file, 0o644);
  assert.equal(warnIfSecretsReadable(file, false), undefined);
  assert.equal(warnIfSecretsReadable(join(dir, 'missing.cfg'), true), undefined);
});
