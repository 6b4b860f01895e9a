// Delta download benchmark (issue 16, download half): the extract workload's archive (707 MiB,
// 20,000 files; --quick: 2,500 files) deployed, then a version with one text file changed,
// served over HTTP with ranges. The agent updates with its cache (a delta download, unchanged
// files cloned from the current release) and without (a full download) in the same rounds,
// best of three each; over S3 (s3rver) the delta's bytes and requests are counted too.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { benchDeltaS3 } from './delta-s3.js';
import { ensureArchive } from './extract.js';
import { cleanEnv, dataDir, deployPhases, emptyHookDirs, progress, round, run, runCli, scratch, settleDisk, type DeployPhases, type RunResult } from './lib.js';
import { startStaticServer } from './servers.js';

/** What `benchDelta` measured. */
export interface DeltaBenchResult {
  /** Bytes the server sent for the delta update (the check's probe included). */
  delta_http_bytes: number;
  delta_http_seconds: number;
  /** The same update with an empty cache: a full download. */
  full_http_seconds: number;
  delta_http_ratio: number;
  /** `delta_http_bytes` as a percentage of the archive. */
  delta_http_bytes_percent: number;
  /** Where each update's wall time went (see `DeployPhases`): the full download happens in the check. */
  delta_http_phases_ms?: DeployPhases;
  full_http_phases_ms?: DeployPhases;
  delta_archive_mib: number;
  delta_s3_bytes: number;
  delta_s3_requests: number;
}

/**
 * The file the new version changes: one small text file. Info-ZIP's `zip` keeps the order of
 * the entries it updates, and this one sits 97 % into the archive (its local header at 722 of
 * 741 MB): what a rebuild can keep in place depends on where the first change is.
 */
export const changedFile = 'd0/s1/file-1000.txt';

/** The base archive and a copy with `changedFile` rewritten by Info-ZIP `zip` (an update in place). */
export async function deltaArchives(quick: boolean): Promise<{ base: string; next: string; marker: string }> {
  const files = quick ? 2500 : 20000;
  const base = await ensureArchive(`extract-${files}.zip`, quick ? 100e6 : 800e6, files, progress);
  const next = join(dataDir, `delta-${files}-v2.zip`);
  const marker = `changed for the delta benchmark (${files})\n`;
  if (!existsSync(next)) {
    progress(`making ${next} (${changedFile} changed)...`);
    const tree = scratch('delta-tree');
    mkdirSync(join(tree, dirname(changedFile)), { recursive: true });
    writeFileSync(join(tree, changedFile), marker);
    copyFileSync(base, `${next}.tmp`);
    await run('zip', ['-q', `${next}.tmp`, changedFile], { cwd: tree });
    renameSync(`${next}.tmp`, next);
    rmSync(tree, { recursive: true, force: true });
  }
  return { base, next, marker };
}

/** Runs the HTTP side, then the S3 side. */
export async function benchDelta(options: { quick?: boolean } = {}): Promise<DeltaBenchResult> {
  const quick = options.quick ?? false;
  const archives = await deltaArchives(quick);
  const http = await benchDeltaHttp(archives, { quick });
  const s3 = await benchDeltaS3(archives);
  return { ...http, ...s3 };
}

/**
 * The HTTP side: a delta update and a full one of the same version, timed in the same rounds
 * (the order alternating), best round of each side: one round's figures on this machine's disk
 * move by a factor of two with the writeback the step before left behind. Before each round
 * both sides are put back on the base version (untimed).
 */
export async function benchDeltaHttp(archives: { base: string; next: string; marker: string }, options: { quick?: boolean } = {}) {
  const rounds = options.quick ? 1 : 3;
  const work = scratch('delta-http');
  const site = join(work, 'site');
  mkdirSync(site, { recursive: true });
  const server = await startStaticServer(site);
  const hooks = emptyHookDirs(work);
  const config = join(work, 'empty.cfg');
  writeFileSync(config, '');
  const env = cleanEnv();
  const deploy = (side: string) => runCli(['-c', config, '-f', '--cache', join(work, `cache-${side}`), '--pre-hooks', hooks.pre, '--post-hooks', hooks.post, server.url('app.zip'), join(work, side, 'current')], { env });
  // A new file each time (a new inode, size and mtime: a new ETag), as a publisher replaces it.
  const serve = (archive: string) => {
    copyFileSync(archive, join(site, 'app.zip.new'));
    renameSync(join(site, 'app.zip.new'), join(site, 'app.zip'));
  };
  const results: Record<'delta' | 'full', RunResult[]> = { delta: [], full: [] };
  let bytes = 0;
  let requests = 0;
  try {
    for (let i = 1; i <= rounds; i++) {
      serve(archives.base);
      for (const side of ['delta', 'full']) await deploy(side);
      serve(archives.next);
      rmSync(join(work, 'cache-full'), { recursive: true, force: true });
      for (const side of i % 2 === 1 ? (['delta', 'full'] as const) : (['full', 'delta'] as const)) {
        server.reset();
        await settleDisk();
        const result = await deploy(side);
        if (readFileSync(join(work, side, 'current', changedFile), 'utf8') !== archives.marker) throw new Error(`the ${side} deploy did not put the new version in place`);
        results[side].push(result);
        if (side === 'delta') ({ bodyBytes: bytes, requests } = server.counters);
      }
      progress(`delta over http, round ${i}: ${bytes} bytes in ${requests} requests, ${results.delta.at(-1)!.seconds.toFixed(2)} s; full: ${results.full.at(-1)!.seconds.toFixed(2)} s`);
    }
    const best = (side: 'delta' | 'full') => results[side].reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const [delta, full] = [best('delta'), best('full')];
    const size = statSync(archives.next).size;
    const phases = { delta: deployPhases(delta), full: deployPhases(full) };
    progress(`  phases of the best rounds (ms), delta: ${JSON.stringify(phases.delta)}; full: ${JSON.stringify(phases.full)}`);
    return {
      delta_http_bytes: bytes,
      delta_http_seconds: round(delta.seconds),
      full_http_seconds: round(full.seconds),
      delta_http_ratio: round(delta.seconds / full.seconds),
      delta_http_bytes_percent: round((bytes / size) * 100),
      ...(phases.delta ? { delta_http_phases_ms: phases.delta } : {}),
      ...(phases.full ? { full_http_phases_ms: phases.full } : {}),
      delta_archive_mib: round(size / 2 ** 20),
    };
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
