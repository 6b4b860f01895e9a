// `npm run bench [-- --quick] [-- --only extract,http,git,idle,daemon,swap,soak] [-- --reflink]` (issue 8): builds
// the CLI, runs every workload against its standard-tool baseline in this one run on the same
// data, prints a table, and as the very last line of standard output one JSON object with all
// figures. Progress goes to standard error. A workload that cannot run reports null figures and
// its reason (in `errors`), and the exit status is 1; missed targets are reported, not fatal.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { benchDaemonRss } from './daemon-rss.js';
import { benchDeltaGit } from './delta-git.js';
import { benchDelta } from './delta.js';
import { benchExtract } from './extract.js';
import { benchFleet } from './fleet.js';
import { benchGit } from './git.js';
import { benchHttp } from './http.js';
import { benchIdleS3 } from './idle.js';
import { benchManyApps } from './many-apps.js';
import { benchReflink } from './reflink.js';
import { buildCli, dataDir, progress } from './lib.js';
import { benchSoak } from './soak.js';
import { benchSwapReads } from './swap-reads.js';
import { renderTable, type Figures } from './table.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? new Set((args[onlyAt + 1] ?? '').split(',')) : undefined;

/** Each workload, with the JSON fields it must fill (null when it could not run). */
const workloads: Array<{ name: string; fields: string[]; optIn?: boolean; run: () => Promise<object> }> = [
  {
    name: 'extract',
    fields: ['extract_ratio_vs_unzip', 'extract_peak_rss_mib', 'extract_peak_rss_mib_small', 'extract_peak_rss_mib_contended'],
    // Two runs a side in quick mode keep `--quick` under two minutes on a loaded 2-core host.
    run: () => benchExtract({ quick, log: progress, ...(quick ? { runs: 2 } : {}) }),
  },
  { name: 'http', fields: ['http_deploy_ratio_vs_curl_unzip', 'idle_check_requests_http', 'idle_check_body_bytes_http'], run: () => benchHttp({ quick }) },
  { name: 'delta', fields: ['delta_http_bytes', 'delta_http_seconds', 'full_http_seconds', 'delta_http_ratio', 'delta_s3_bytes', 'delta_s3_requests'], run: () => benchDelta({ quick }) },
  { name: 'git', fields: ['git_deploy_ratio_vs_git_cli', 'idle_check_ms_git'], run: () => benchGit({ quick, runs: quick ? 3 : 5 }) },
  { name: 'delta-git', fields: ['delta_git_ratio_vs_git_cli', 'delta_git_seconds', 'delta_git_full_seconds'], run: () => benchDeltaGit({ quick }) },
  {
    // Opt-in (root, loop devices, mkfs.xfs): the delta workloads again on XFS with reflinks.
    name: 'reflink',
    optIn: true,
    fields: ['delta_http_ratio_reflink', 'delta_git_ratio_vs_git_cli_reflink'],
    run: () => benchReflink({ quick }),
  },
  { name: 'idle', fields: ['idle_check_requests_s3', 'idle_check_body_bytes_s3'], run: () => benchIdleS3() },
  { name: 'daemon', fields: ['daemon_idle_rss_mib'], run: () => benchDaemonRss({ quick }) },
  { name: 'swap', fields: ['swap_failed_reads'], run: () => benchSwapReads({ quick }) },
  {
    name: 'soak',
    fields: ['daemon_soak_deploys', 'daemon_soak_rss_mib_start', 'daemon_soak_rss_mib_end', 'daemon_soak_rss_growth_second_half_mib', 'daemon_soak_fds_start', 'daemon_soak_fds_end', 'daemon_50_apps_rss_mib', 'daemon_50_apps_idle_round_ms'],
    run: async () => ({ ...(await benchSoak({ quick })), ...(await benchManyApps()) }),
  },
  {
    name: 'fleet',
    fields: ['fleet_agents', 'fleet_rollout_seconds', 'fleet_rollout_predicted_seconds', 'fleet_max_in_flight', 'fleet_bad_version_hosts', 'fleet_rollback_seconds', 'fleet_etcd_writes_per_agent_minute_idle'],
    run: () => benchFleet({ quick }),
  },
];

async function main(): Promise<number> {
  const started = Date.now();
  mkdirSync(dataDir, { recursive: true });
  const figures: Figures = { quick, ...machine() };
  const errors: Record<string, string> = {};
  progress(`building the CLI (tsc)...`);
  await buildCli();
  for (const workload of workloads) {
    if (only ? !only.has(workload.name) : workload.optIn && !args.includes(`--${workload.name}`)) continue;
    progress(`== ${workload.name}`);
    const t = Date.now();
    try {
      Object.assign(figures, await workload.run());
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      errors[workload.name] = reason;
      for (const field of workload.fields) figures[field] ??= null;
      progress(`${workload.name} could not run, its figures are null: ${reason}`);
    }
    progress(`(${workload.name}: ${((Date.now() - t) / 1000).toFixed(1)} s)`);
  }
  figures.bench_seconds = Math.round((Date.now() - started) / 1000);
  if (Object.keys(errors).length) figures.errors = errors;
  process.stdout.write(`${renderTable(figures)}\n`);
  process.stdout.write(`${JSON.stringify(figures)}\n`);
  return Object.keys(errors).length ? 1 : 0;
}

/** Where the figures came from: they only compare with figures from the same kind of machine. */
function machine(): Figures {
  let disk = 'unknown';
  try {
    // `df -T` names the filesystem type under the data (tmpfs, ext4, overlay, ...).
    const line = execFileSync('df', ['-T', dataDir], { encoding: 'utf8' }).trim().split('\n').at(-1)!.split(/\s+/);
    disk = `${line[1]} (${line[0]})`;
  } catch {
    // Reported as unknown: the figures stand without it.
  }
  return {
    machine_cpus: availableParallelism(),
    machine_mem_gib: Math.round(totalmem() / 2 ** 30),
    machine_disk: disk,
    node: process.version,
  };
}

process.exitCode = await main();
