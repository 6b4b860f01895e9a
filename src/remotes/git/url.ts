import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { redactUrl } from '../../util/redact.js';

/**
 * The git URL grammar of the original repo-deploy, grown to the standard forms:
 *
 *   user@host:org/app.git/sub/dir#ref        scp-like (SSH)
 *   ssh://, git+ssh://, git://, git+https://, https://, http://, file://   with the same tail
 *
 * The repository ends at the first path segment ending in `.git`; what follows is the
 * subdirectory to deploy. URLs without such a segment use `//` to separate the subdirectory
 * (`https://host/org/app//deploy/web#v2`). `#ref` names a branch, a tag or a full commit id.
 * A `file://` URL without a `.git` segment is a git remote when it has `//` or `#ref` and its
 * repository part is a git repository on this host (`file:///srv/plainrepo//web#v2`).
 */

/** A parsed git remote URL. */
export interface GitLocation {
  /** Repository URL handed to git, credentials included (never log it). */
  repoUrl: string;
  /** Repository URL without credentials: the mirror's identity and what git is told to fetch. */
  cleanUrl: string;
  /**
   * HTTP(S) credentials from the URL's userinfo (percent-decoded), and the credential-free
   * `scheme://host[:port]` they are for: git is handed `cleanUrl` and gets these from a
   * credential helper reading its environment, so they are on no command line, not even the
   * one git gives its own `git-remote-https`; submodules on the same host get them too.
   */
  credentials?: { prefix: string; username: string; password: string };
  /** Secrets found in the URL (password, token user name), scrubbed from git's messages. */
  secrets: string[];
  /** Subdirectory to deploy, relative and normalised (`''` = the whole tree). */
  subdir: string;
  /** Branch, tag, full ref name or full commit id; undefined = the remote's default branch. */
  ref?: string;
  /** The whole URL without credentials, for logs, errors and `status`. */
  display: string;
  /** Transport: `ssh`, `git`, `http`, `https` or `file`. */
  scheme: string;
}

const schemeRe = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(\/.*)?$/i;
const scpRe = /^([^@/:\s]+)@([^/:\s]+):(.*)$/;
const knownSchemes = new Set(['ssh', 'git', 'http', 'https', 'file']);

/** True when `url` is a git remote this kind should claim (see the module comment). */
export function isGitUrl(url: string): boolean {
  const body = url.split('#')[0]!;
  if (/^git\+/i.test(body)) return true;
  const m = schemeRe.exec(body);
  if (!m) return scpRe.test(body) && !body.includes('://');
  const scheme = m[1]!.toLowerCase();
  const path = m[3] ?? '';
  if (scheme === 'ssh' || scheme === 'git') return true;
  if (hasGitSegment(path)) return true;
  // Without a `.git` segment, http(s) uses the `//` subdirectory marker; file:// uses `//` or
  // `#ref` too when what comes before is a git repository on this host. A plain file://
  // directory belongs to the local kind.
  if (scheme === 'file') {
    const split = path.indexOf('//', 1);
    return (split !== -1 || url.includes('#')) && isLocalRepository(split === -1 ? path : path.slice(0, split));
  }
  return (scheme === 'http' || scheme === 'https') && path.slice(1).includes('//');
}

// A bare repository (HEAD and objects/) or a work tree (.git) at a file:// URL's path.
function isLocalRepository(urlPath: string): boolean {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return false;
  }
  return (existsSync(join(path, 'HEAD')) && existsSync(join(path, 'objects'))) || existsSync(join(path, '.git'));
}

/** Parses a git remote URL; throws `Error` with a message saying what is wrong and what is accepted. */
export function parseGitUrl(url: string): GitLocation {
  const hash = url.indexOf('#');
  const body = hash === -1 ? url : url.slice(0, hash);
  const ref = hash === -1 ? undefined : url.slice(hash + 1);
  if (ref !== undefined) checkRef(ref);

  const m = schemeRe.exec(body);
  let location: Omit<GitLocation, 'ref' | 'display'>;
  if (m) {
    let scheme = m[1]!.toLowerCase();
    if (scheme.startsWith('git+')) scheme = scheme.slice(4);
    if (!knownSchemes.has(scheme)) {
      throw new Error(`unsupported git url scheme "${m[1]}": use ssh://, git+ssh://, git://, https://, git+https:// or file://`);
    }
    const authority = m[2]!;
    if (scheme !== 'file' && !authority) throw new Error(`git url has no host: ${redactUrl(body)}`);
    const { repoPath, subdir } = splitPath(m[3] ?? '');
    if (!repoPath || repoPath === '/') throw new Error(`git url has no repository path: ${redactUrl(body)}`);
    location = { ...withAuthority(scheme, authority, repoPath), subdir, scheme };
  } else {
    const scp = scpRe.exec(body);
    if (!scp || body.includes('://')) {
      throw new Error(`not a git url: use user@host:org/app.git/path#ref, ssh://, git://, https://…/app.git or file://…/app.git`);
    }
    const [, user, host, path] = scp as unknown as [string, string, string, string];
    if (user.startsWith('-') || host.startsWith('-')) throw new Error(`git url host or user may not start with "-"`);
    const { repoPath, subdir } = splitPath(path);
    if (!repoPath) throw new Error(`git url has no repository path: ${user}@${host}:`);
    const repoUrl = `${user}@${host}:${repoPath}`;
    location = { repoUrl, cleanUrl: repoUrl, secrets: [], subdir, scheme: 'ssh' };
  }
  const display = redactUrl(location.cleanUrl) + (location.subdir ? `//${location.subdir}` : '') + (ref ? `#${ref}` : '');
  return { ...location, ...(ref !== undefined ? { ref } : {}), display };
}

/** True when `ref` is a full commit id (sha-1 or sha-256), not a name. */
export function isCommitId(ref: string): boolean {
  return /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(ref);
}

// A path segment naming a repository: `app.git` (or a work tree's `.git`).
function hasGitSegment(path: string): boolean {
  return path.split('/').some((s) => s.endsWith('.git'));
}

// Builds the credential-free URL and the credentials from an authority that may hold
// `user:password@` (or a bare token user over HTTP). Over SSH the user name is kept and a
// password dropped: ssh runs in batch mode and could not use it, and git would put it in
// ssh's argv.
function withAuthority(scheme: string, authority: string, repoPath: string): Omit<GitLocation, 'ref' | 'display' | 'subdir' | 'scheme'> {
  if (authority.startsWith('-')) throw new Error(`git url host may not start with "-"`);
  const at = authority.lastIndexOf('@');
  const userinfo = at === -1 ? '' : authority.slice(0, at);
  const host = at === -1 ? authority : authority.slice(at + 1);
  const colon = userinfo.indexOf(':');
  const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
  const password = colon === -1 ? '' : userinfo.slice(colon + 1);
  const http = scheme === 'http' || scheme === 'https';
  // An SSH user name (`git@`) is not a secret; over HTTP a bare user name is usually a token.
  const secret = password !== '' || (http && user !== '');
  const repoUrl = `${scheme}://${authority}${repoPath}`;
  if (!secret) return { repoUrl, cleanUrl: repoUrl, secrets: [] };
  const keptUser = http || user === '' ? '' : `${user}@`;
  const cleanUrl = `${scheme}://${keptUser}${host}${repoPath}`;
  const username = decode(user);
  const decodedPassword = decode(password);
  // Both the URL's spelling and the decoded one: git's messages could show either.
  const secrets = [...new Set([password, decodedPassword, ...(http ? [user, username] : [])])].filter((s) => s !== '');
  return {
    repoUrl,
    cleanUrl,
    secrets,
    ...(http ? { credentials: { prefix: `${scheme}://${host}`, username, password: decodedPassword } } : {}),
  };
}

// Userinfo is percent-encoded in a URL (`p%40ss` for `p@ss`); a malformed escape is kept as written.
function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// Splits a repository path from the subdirectory: at the first segment ending in `.git`, else
// at the first `//`, else the whole path is the repository.
function splitPath(path: string): { repoPath: string; subdir: string } {
  const segments = path.split('/');
  const gitAt = segments.findIndex((s) => s.endsWith('.git'));
  let repoPath: string;
  let rest: string;
  if (gitAt !== -1) {
    repoPath = segments.slice(0, gitAt + 1).join('/');
    rest = segments.slice(gitAt + 1).join('/');
  } else {
    const lead = path.startsWith('/') ? 1 : 0;
    const split = path.indexOf('//', lead);
    repoPath = split === -1 ? path : path.slice(0, split);
    rest = split === -1 ? '' : path.slice(split + 2);
  }
  return { repoPath, subdir: checkSubdir(rest) };
}

function checkSubdir(rest: string): string {
  if (rest.startsWith('/')) throw new Error(`git subdirectory must be relative, got "${rest}"`);
  const parts = rest.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new Error(`git subdirectory may not contain "..", got "${rest}"`);
  if (parts.some((p) => p === '.git')) throw new Error(`git subdirectory may not contain ".git", got "${rest}"`);
  return parts.join('/');
}

// A subset of git check-ref-format, plus no leading `-` so a ref can never be read as an option.
function checkRef(ref: string): void {
  if (ref === '') throw new Error('git ref after "#" is empty: name a branch, a tag or a full commit id');
  const bad =
    ref.startsWith('-') ||
    ref.startsWith('/') ||
    ref.endsWith('/') ||
    ref.endsWith('.') ||
    ref.endsWith('.lock') ||
    ref.includes('..') ||
    ref.includes('//') ||
    ref.includes('@{') ||
    /[\x00-\x20\x7f~^:?*[\\]/.test(ref);
  if (bad) throw new Error(`invalid git ref "${ref}": name a branch, a tag or a full commit id`);
}
