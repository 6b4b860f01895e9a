import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type BigIntStats } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, readlink, realpath, stat, symlink } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RemoteError, VerificationError } from '../../errors.js';
import { makePrivateDir, releaseDirMode, releaseFileMode } from '../../util/modes.js';
import { digestFile } from '../../verify/digest-file.js';
import { downloadTo, unpackArchive, unpackSettings } from '../archive.js';
import { parseLocalSpec, type LocalOptions, type LocalSpec } from './options.js';
import { defineKind, type FetchResult, type Observation, type Remote, type RemoteContext } from '../types.js';
import { writePrivateFileAtomic } from '../../util/atomic-write.js';

/**
 * The local remote: `file:///path` or a plain path to a directory or a `.zip` on
 * this host — the embedded default for trying the agent and for tests.
 */
export const localKind = defineKind({
  name: 'local',
  // Asked last: anything without a scheme (other than file://) and not scp-like is a path.
  matches: (url: string) => url.startsWith('file://') || (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^[^/]*@[^/]*:/.test(url) && url.length > 0),
  parse: parseLocalSpec,
  open: (spec: LocalSpec) => new LocalRemote(spec),
});

/** Size, times and inode of a zip when its sha256 was computed: an unchanged file is not re-hashed. */
interface ZipHashCache {
  size: string;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
  sha256: string;
}

/** A local directory or zip remote. */
export class LocalRemote implements Remote {
  readonly kind = 'local';
  readonly display: string;
  private readonly path: string;
  private readonly config: LocalOptions;

  constructor(spec: LocalSpec) {
    this.path = spec.path;
    this.config = spec.options;
    this.display = spec.display;
  }

  async check(ctx: RemoteContext): Promise<Observation> {
    const st = await this.statSource();
    if (st.isDirectory()) return { version: await treeVersion(this.path, this.display), detail: { type: 'directory' } };
    return { version: await this.zipVersion(st, ctx), detail: { type: 'zip', bytes: String(st.size) } };
  }

  async fetch(version: string, into: string, ctx: RemoteContext): Promise<FetchResult> {
    const st = await this.statSource();
    if (st.isDirectory()) {
      // The tree may change between check and fetch; deploying it under the old version's
      // name would record a lie, so refuse and let the next check see the new version.
      if ((await treeVersion(this.path, this.display)) !== version) throw this.changed();
      return copyTree(this.path, into, this.config, this.display);
    }
    // Copy the zip into the cache first: what is verified and extracted is then exactly the
    // bytes that were hashed, even if someone rewrites the file meanwhile.
    const copy = join(ctx.cacheDir, 'archive.zip');
    await makePrivateDir(ctx.cacheDir);
    const download = await downloadTo(createReadStream(this.path), copy, {
      display: this.display,
      limits: this.config.limits,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    if (download.sha256 !== version) throw this.changed();
    return unpackArchive(copy, into, {
      ...unpackSettings(this.config, ctx, (suffix) => this.fetchSidecar(suffix)),
      sha256: download.sha256,
      display: this.display,
      bytesDownloaded: download.bytes,
    });
  }

  /** The bytes of the file `<path><suffix>` (`.minisig`, `.sha256`); a RemoteError when it is missing. */
  async fetchSidecar(suffix: string): Promise<Buffer> {
    try {
      return await readFile(this.path + suffix);
    } catch (error) {
      throw new RemoteError(this.display, `cannot read ${this.path + suffix}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
  }

  private async statSource(): Promise<BigIntStats> {
    try {
      const st = await stat(this.path, { bigint: true });
      if (!st.isDirectory() && !st.isFile()) throw new Error('not a directory or a regular file');
      return st;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file or directory: check the path' : code ?? (error as Error).message;
      throw new RemoteError(this.display, `cannot read ${this.path}: ${why}`, { cause: error });
    }
  }

  private async zipVersion(st: BigIntStats, ctx: RemoteContext): Promise<string> {
    const key: Omit<ZipHashCache, 'sha256'> = { size: `${st.size}`, mtimeNs: `${st.mtimeNs}`, ctimeNs: `${st.ctimeNs}`, ino: `${st.ino}` };
    const cacheFile = join(ctx.cacheDir, 'zip-hash.json');
    // A cache file cut short (by an older agent's kill -9) is no cache, not an error.
    const cached = await readFile(cacheFile, 'utf8').then((t) => JSON.parse(t) as ZipHashCache).catch(() => undefined);
    if (cached && cached.size === key.size && cached.mtimeNs === key.mtimeNs && cached.ctimeNs === key.ctimeNs && cached.ino === key.ino) {
      return cached.sha256;
    }
    let sha256: string;
    try {
      sha256 = (await digestFile(this.path, ['sha256'])).sha256!.toString('hex');
    } catch (error) {
      throw new RemoteError(this.display, `cannot read ${this.path}: ${(error as Error).message}`, { cause: error });
    }
    await makePrivateDir(ctx.cacheDir);
    await writePrivateFileAtomic(cacheFile, JSON.stringify({ ...key, sha256 }));
    ctx.logger.debug({ path: this.path, sha256 }, 'hashed local zip');
    return sha256;
  }

  private changed(): RemoteError {
    return new RemoteError(this.display, 'changed between check and fetch; the next check will see the new version');
  }
}

/**
 * The version of a directory: a digest over every entry's relative path, type, mode, size,
 * mtime and link target, computed without reading file contents (cheap to poll).
 */
async function treeVersion(root: string, display: string): Promise<string> {
  const hash = createHash('sha256');
  await walk(root, root, async (rel, st, abs) => {
    const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : 'o';
    const target = type === 'l' ? await readlink(abs) : '';
    hash.update(`${rel}\0${type}\0${st.mode & 0o7777n}\0${st.size}\0${st.mtimeNs}\0${target}\n`);
  }).catch((error: unknown) => {
    throw new RemoteError(display, `cannot read ${root}: ${(error as Error).message}`, { cause: error });
  });
  return `tree-${hash.digest('hex')}`;
}

/**
 * Copies the tree at `root` into `into` with release modes (0755 directories, files 0755 or
 * 0644 by their execute bits) and its symlinks. Links that are absolute
 * or lead outside the tree are refused, as the extractor refuses them in zips: a release must
 * never point at files outside itself.
 * contentId is a digest of what was copied: paths, modes, contents and link targets.
 */
async function copyTree(root: string, into: string, config: LocalOptions, display: string): Promise<FetchResult> {
  const content = createHash('sha256');
  const dirs: string[] = [];
  const links: string[] = [];
  let files = 0;
  let entries = 0;
  let bytes = 0;
  const copied = walk(root, root, async (rel, st, abs) => {
    if (++entries > config.limits.maxEntries) throw new VerificationError(`${display} has more than ${config.limits.maxEntries} entries`);
    const dest = join(into, rel);
    // What the release gets, not what the source has: see releaseFileMode.
    const mode = st.isDirectory() ? releaseDirMode : releaseFileMode(Number(st.mode));
    if (st.isDirectory()) {
      await mkdir(dest, { recursive: true });
      dirs.push(dest);
      content.update(`${rel}\0d\0${mode}\n`);
    } else if (st.isSymbolicLink()) {
      const target = await readlink(abs);
      const resolved = resolve(join(root, rel, '..'), target);
      if (!config.allowExternalLinks && (isAbsolute(target) || !isInside(root, resolved))) {
        throw new VerificationError(`refusing link ${rel} -> ${target} in ${display}: it leads outside the tree`);
      }
      await symlink(target, dest);
      links.push(dest);
      content.update(`${rel}\0l\0${target}\n`);
    } else if (st.isFile()) {
      bytes += Number(st.size);
      if (bytes > config.limits.maxUnpackedBytes) throw new VerificationError(`${display} is larger than ${config.limits.maxUnpackedBytes} bytes`);
      const fileHash = createHash('sha256');
      const tap = new Transform({ transform: (chunk: Buffer, _e, done) => done(null, fileHash.update(chunk) && chunk) });
      await pipeline(createReadStream(abs), tap, createWriteStream(dest, { mode: 0o600 }));
      await chmod(dest, mode);
      files++;
      content.update(`${rel}\0f\0${mode}\0${fileHash.digest('hex')}\n`);
    }
    // Sockets, fifos and devices are not content: skipped.
  });
  await copied.catch((error: unknown) => {
    if (error instanceof VerificationError) throw error;
    throw new RemoteError(display, `cannot copy ${root}: ${(error as Error).message}`, { cause: error });
  });
  // A chain of in-tree links can still resolve outside (`a -> .`, `b -> a/..`); checking the
  // real path of each copied link catches every such chain.
  const realInto = await realpath(into);
  for (const link of links) {
    const real = await realpath(link).catch(() => undefined);
    if (real !== undefined && !isInside(realInto, real) && !config.allowExternalLinks) {
      throw new VerificationError(`refusing link ${relative(into, link)} in ${display}: it resolves outside the tree`);
    }
  }
  // Set here, not at mkdir: the umask (077 in a hand-run -f) would narrow them.
  for (const dir of dirs) await chmod(dir, releaseDirMode);
  return { contentId: `tree-sha256:${content.digest('hex')}`, bytesDownloaded: bytes, files, detail: {} };
}

/** Visits every entry under `dir` in sorted order (parents before children), without following links. */
async function walk(root: string, dir: string, visit: (rel: string, st: BigIntStats, abs: string) => Promise<void>): Promise<void> {
  const names = (await readdir(dir)).sort();
  // lstat a directory's entries together (the check's cost is mostly these calls), then visit
  // them in order so digests do not depend on timing.
  const stats = await Promise.all(names.map((name) => lstat(join(dir, name), { bigint: true })));
  for (const [i, name] of names.entries()) {
    const abs = join(dir, name);
    const st = stats[i]!;
    await visit(relative(root, abs), st, abs);
    if (st.isDirectory()) await walk(root, abs, visit);
  }
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}
