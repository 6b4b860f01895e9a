import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isGitUrl, parseGitUrl } from '../../src/remotes/git/url.js';
import { remoteKinds } from '../../src/remotes/index.js';

// Every URL form of the issue: what git is handed, the subdirectory, the ref and the display.
const forms: Array<[string, { repoUrl: string; subdir: string; ref?: string; display: string; scheme: string }]> = [
  ['git@github.com:org/app.git/path#main', { repoUrl: 'git@github.com:org/app.git', subdir: 'path', ref: 'main', display: 'git@github.com:org/app.git//path#main', scheme: 'ssh' }],
  ['git@github.com:org/app.git', { repoUrl: 'git@github.com:org/app.git', subdir: '', display: 'git@github.com:org/app.git', scheme: 'ssh' }],
  ['deploy@host:/srv/repos/app.git/a/b/#v1.2', { repoUrl: 'deploy@host:/srv/repos/app.git', subdir: 'a/b', ref: 'v1.2', display: 'deploy@host:/srv/repos/app.git//a/b#v1.2', scheme: 'ssh' }],
  ['git@host:org/app//deploy/web#v2', { repoUrl: 'git@host:org/app', subdir: 'deploy/web', ref: 'v2', display: 'git@host:org/app//deploy/web#v2', scheme: 'ssh' }],
  ['ssh://git@host:2222/org/app.git/web#release', { repoUrl: 'ssh://git@host:2222/org/app.git', subdir: 'web', ref: 'release', display: 'ssh://git@host:2222/org/app.git//web#release', scheme: 'ssh' }],
  ['git+ssh://git@host/org/app.git', { repoUrl: 'ssh://git@host/org/app.git', subdir: '', display: 'ssh://git@host/org/app.git', scheme: 'ssh' }],
  ['git+https://host/org/app.git/site#refs/heads/x', { repoUrl: 'https://host/org/app.git', subdir: 'site', ref: 'refs/heads/x', display: 'https://host/org/app.git//site#refs/heads/x', scheme: 'https' }],
  ['https://host/org/app.git/path#0123456789abcdef0123456789abcdef01234567', { repoUrl: 'https://host/org/app.git', subdir: 'path', ref: '0123456789abcdef0123456789abcdef01234567', display: 'https://host/org/app.git//path#0123456789abcdef0123456789abcdef01234567', scheme: 'https' }],
  ['https://host/org/app//deploy/web#v2', { repoUrl: 'https://host/org/app', subdir: 'deploy/web', ref: 'v2', display: 'https://host/org/app//deploy/web#v2', scheme: 'https' }],
  ['git+https://host/org/app', { repoUrl: 'https://host/org/app', subdir: '', display: 'https://host/org/app', scheme: 'https' }],
  ['git://127.0.0.1:9418/app.git/./web/#dev', { repoUrl: 'git://127.0.0.1:9418/app.git', subdir: 'web', ref: 'dev', display: 'git://127.0.0.1:9418/app.git//web#dev', scheme: 'git' }],
  ['file:///srv/repos/app.git/path#main', { repoUrl: 'file:///srv/repos/app.git', subdir: 'path', ref: 'main', display: 'file:///srv/repos/app.git//path#main', scheme: 'file' }],
  ['file:///srv/repos/app.git', { repoUrl: 'file:///srv/repos/app.git', subdir: '', display: 'file:///srv/repos/app.git', scheme: 'file' }],
  ['https://user:s3cret@host/org/app.git#main', { repoUrl: 'https://user:s3cret@host/org/app.git', subdir: '', ref: 'main', display: 'https://host/org/app.git#main', scheme: 'https' }],
  ['https://ghp_token1234@host/org/app.git', { repoUrl: 'https://ghp_token1234@host/org/app.git', subdir: '', display: 'https://host/org/app.git', scheme: 'https' }],
];

describe('git url grammar', () => {
  for (const [url, want] of forms) {
    it(`parses ${url}`, () => {
      const got = parseGitUrl(url);
      assert.equal(got.repoUrl, want.repoUrl);
      assert.equal(got.subdir, want.subdir);
      assert.equal(got.ref, want.ref);
      assert.equal(got.display, want.display);
      assert.equal(got.scheme, want.scheme);
      assert.ok(isGitUrl(url), 'claimed by the git kind');
      assert.equal(remoteKinds.find((k) => k.matches(url))?.name, 'git', 'the registry picks git');
    });
  }

  it('keeps credentials out of cleanUrl and display, and hands them over decoded for the helper', () => {
    const got = parseGitUrl('https://user:s3cret%40x@host:8443/org/app.git/web#main');
    assert.equal(got.cleanUrl, 'https://host:8443/org/app.git');
    assert.deepEqual(got.credentials, { prefix: 'https://host:8443', username: 'user', password: 's3cret@x' });
    assert.ok(got.secrets.includes('s3cret%40x') && got.secrets.includes('s3cret@x'));
    assert.ok(!got.display.includes('s3cret') && !got.display.includes('user'));
    const ssh = parseGitUrl('ssh://git:pw1234@host/app.git');
    assert.equal(ssh.cleanUrl, 'ssh://git@host/app.git', 'an ssh user name is kept, the password is not');
    assert.equal(ssh.credentials, undefined, 'ssh runs in batch mode: a password is dropped, not handed to git');
  });

  const malformed: Array<[string, RegExp]> = [
    ['git@host:org/app.git#', /ref after "#" is empty/],
    ['https://host/org/app.git/a/../../etc#main', /may not contain "\.\."/],
    ['file:///srv/app.git/../x', /may not contain "\.\."/],
    ['https://host/org/app.git//etc#main', /must be relative/],
    ['https://host/org/app///etc', /must be relative/],
    ['ftp://host/org/app.git', /unsupported git url scheme "ftp"/],
    ['git+foo://host/org/app.git', /unsupported git url scheme "git\+foo"/],
    ['git@host:org/app.git#-upload-pack=evil', /invalid git ref/],
    ['git@host:org/app.git#a..b', /invalid git ref/],
    ['git@host:org/app.git#with space', /invalid git ref/],
    ['ssh://-oProxyCommand=x/app.git', /may not start with "-"/],
    ['git://host', /no repository path/],
    ['ssh:///app.git', /no host/],
  ];
  for (const [url, message] of malformed) {
    it(`rejects ${url}`, () => {
      assert.ok(isGitUrl(url), 'claimed, so the operator gets the git error');
      assert.throws(() => parseGitUrl(url), message);
      assert.throws(() => remoteKinds.find((k) => k.matches(url))!.create(url, {} as never), message);
    });
  }

  const notGit = ['https://host/app.zip', 'http://host/releases/app.zip?x=1', 's3://bucket/app.zip', '/srv/app', './app.zip', 'app.zip', 'file:///srv/app', 'file:///srv/app.zip', 'C:\\app'];
  for (const url of notGit) {
    it(`does not claim ${url}`, () => assert.equal(isGitUrl(url), false));
  }
});
