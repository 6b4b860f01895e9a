// Delta deploys on a filesystem with reflinks (issue 16: "reflink where the filesystem supports
// it"): XFS made with reflink=1 (the default of mkfs.xfs today, and of RHEL's installer) on a
// loop device over a sparse image file in bench/.data. There a release's unchanged files are
// cloned without copying their data, which ext4 cannot do. The same HTTP and git delta
// workloads run with every scratch directory on it; fields end in `_reflink`.
//
// Opt-in (`--reflink`): it needs root, loop devices and mkfs.xfs (Debian's xfsprogs). The image
// lives on the machine's own disk, so flushing it still costs that disk's writes: what a real
// XFS disk gains is at least this.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchDeltaGit } from './delta-git.js';
import { benchDeltaHttp, deltaArchives } from './delta.js';
import { dataDir, progress, run, withScratchRoot } from './lib.js';

/** What `benchReflink` measured. */
export interface ReflinkBenchResult {
  reflink_fs: string;
  delta_http_seconds_reflink: number;
  full_http_seconds_reflink: number;
  delta_http_ratio_reflink: number;
  delta_git_seconds_reflink: number;
  delta_git_cli_seconds_reflink: number;
  delta_git_ratio_vs_git_cli_reflink: number;
  delta_git_full_seconds_reflink: number;
}

const image = join(dataDir, 'reflink.img');
const mountPoint = join(dataDir, 'reflink-mnt');

/** Runs the delta workloads on a loop-mounted XFS with reflinks, then unmounts and removes it. */
export async function benchReflink(options: { quick?: boolean } = {}): Promise<ReflinkBenchResult> {
  const quick = options.quick ?? false;
  // Made first, on the machine's own disk: only the deploys are measured on the image.
  const archives = await deltaArchives(quick);
  await mountReflinkFs();
  try {
    const http = await withScratchRoot(mountPoint, () => benchDeltaHttp(archives, { quick }));
    const git = await withScratchRoot(mountPoint, () => benchDeltaGit({ quick }));
    return {
      reflink_fs: 'xfs, reflink=1 (loop device over an image on the machine disk)',
      delta_http_seconds_reflink: http.delta_http_seconds,
      full_http_seconds_reflink: http.full_http_seconds,
      delta_http_ratio_reflink: http.delta_http_ratio,
      delta_git_seconds_reflink: git.delta_git_seconds,
      delta_git_cli_seconds_reflink: git.delta_git_cli_seconds,
      delta_git_ratio_vs_git_cli_reflink: git.delta_git_ratio_vs_git_cli,
      delta_git_full_seconds_reflink: git.delta_git_full_seconds,
    };
  } finally {
    await unmountReflinkFs();
  }
}

/** Makes and mounts the image; throws with what is missing when this machine cannot. */
async function mountReflinkFs(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('mounting a loop filesystem needs root');
  if ((await run('mkfs.xfs', ['-V'], { allowFail: true }).catch(() => undefined))?.code !== 0) throw new Error('mkfs.xfs is missing (Debian package xfsprogs)');
  await unmountReflinkFs();
  progress(`making an XFS image with reflinks at ${image}...`);
  await run('truncate', ['-s', '16G', image]);
  await run('mkfs.xfs', ['-q', '-f', '-m', 'reflink=1', image]);
  mkdirSync(mountPoint, { recursive: true });
  await run('mount', ['-o', 'loop', image, mountPoint]);
  // The point of the run: refuse to report figures from a filesystem that does not clone.
  const probe = join(mountPoint, 'probe');
  writeFileSync(probe, 'reflink probe\n');
  await run('cp', ['--reflink=always', probe, `${probe}.clone`]);
  rmSync(probe);
  rmSync(`${probe}.clone`);
}

/** Unmounts and removes the image (also one a killed run left behind). */
async function unmountReflinkFs(): Promise<void> {
  // Fails when it is not mounted: nothing to do then.
  if (existsSync(mountPoint)) await run('umount', [mountPoint], { allowFail: true });
  rmSync(mountPoint, { recursive: true, force: true });
  rmSync(image, { force: true });
}
