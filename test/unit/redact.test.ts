import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hookProcessEnv } from '../../src/hooks/env.js';
import { redactUrl, stripUrlCredentials } from '../../src/util/redact.js';

test('stripUrlCredentials: userinfo out of http(s)/s3 URLs, passwords out of others, the rest as written', () => {
  const cases: Array<[string, string]> = [
    ['https://bob:TOKEN@host/org/app.git//web#v2', 'https://host/org/app.git//web#v2'],
    ['https://TOKEN@host/org/app.git', 'https://host/org/app.git'],
    ['git+https://bob:p@ss@host:8443/app.git', 'git+https://host:8443/app.git'],
    ['http://u:p%40ss@127.0.0.1:81/app.zip?x=1&token=abc#f', 'http://127.0.0.1:81/app.zip?x=1&token=***#f'],
    ['ssh://git:pw@host/app.git', 'ssh://git@host/app.git'],
    ['ssh://git@host/app.git', 'ssh://git@host/app.git'],
    ['git@host:org/app.git#main', 'git@host:org/app.git#main'],
    ['https://b.s3.amazonaws.com/app.zip?X-Amz-Signature=abcd&X-Amz-Credential=AKIA%2F1', 'https://b.s3.amazonaws.com/app.zip?X-Amz-Signature=***&X-Amz-Credential=***'],
    ['/srv/app with@sign/x', '/srv/app with@sign/x'],
  ];
  for (const [input, want] of cases) assert.equal(stripUrlCredentials(input), want, input);
});

test('hookProcessEnv: secret keys removed under any REPO_DEPLOY_ name ending like them, URLs stripped, the rest kept', () => {
  const got = hookProcessEnv({
    REPO_DEPLOY_AWS_SECRET_KEY: 'a',
    REPO_DEPLOY_AWS_ACCESS_KEY: 'b',
    REPO_DEPLOY_ETCD_PASSWORD: 'c',
    REPO_DEPLOY_WEB_AWS_SECRET_KEY: 'd',
    REPO_DEPLOY_REMOTE: 'https://bob:TOKEN@host/app.git',
    REPO_DEPLOY_REPOSITORY: 'https://TOKEN@host/app.git',
    REPO_DEPLOY_ETCD_USER: 'deployer',
    AWS_SECRET_ACCESS_KEY: 'the host\'s own',
    PATH: '/usr/bin',
  });
  assert.deepEqual(got, {
    REPO_DEPLOY_REMOTE: 'https://host/app.git',
    REPO_DEPLOY_REPOSITORY: 'https://host/app.git',
    REPO_DEPLOY_ETCD_USER: 'deployer',
    AWS_SECRET_ACCESS_KEY: 'the host\'s own',
    PATH: '/usr/bin',
  });
});

test('redactUrl: secret query values of every usual name become ***, other parameters stay', () => {
  const url = 'https://h/app.zip?X-Goog-Signature=a1&X-Goog-Credential=a2&X-Amz-Signature=a3&sig=a4&private_token=a5&api_key=a6&client_secret=a7&X-Amz-Date=20260101&v=2';
  const got = redactUrl(url);
  for (const secret of ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7']) assert.ok(!got.includes(`=${secret}`), `${secret} in ${got}`);
  assert.ok(got.includes('X-Amz-Date=20260101') && got.includes('v=2'), got);
});
