// The human-readable half of the bench output: one row per figure that matters, the agent next
// to its baseline, and the target from issue 8 with a verdict, so a reader sees at a glance
// what is met. Missing figures (a workload that did not run) show as "n/a".

/** All figures of one run, as they go into the JSON line. */
export type Figures = Record<string, unknown>;

/** One row: what was measured, the agent's figure, the baseline's, the ratio, the target. */
interface Row {
  what: string;
  agent: string;
  baseline: string;
  ratio: string;
  target: string;
  /** true met, false missed, undefined when there is no target or no figure. */
  met?: boolean;
}

/** Renders the figures as an aligned plain-text table with a header naming the machine. */
export function renderTable(f: Figures): string {
  const n = (key: string): number | undefined => (typeof f[key] === 'number' ? (f[key] as number) : undefined);
  const s = (v: number | undefined, unit: string, digits = 2) => (v === undefined ? 'n/a' : `${v.toFixed(digits)}${unit}`);
  const atMost = (v: number | undefined, limit: number) => (v === undefined ? undefined : v <= limit);
  const size = f.archive_mib !== undefined ? `${Math.round(n('archive_mib') ?? 0)} MiB, ${n('archive_files') ?? '?'} files` : 'archive';
  const rows: Row[] = [
    { what: `extract (${size})`, agent: s(n('extract_seconds'), ' s'), baseline: `unzip -q ${s(n('unzip_seconds'), ' s')}`, ratio: s(n('extract_ratio_vs_unzip'), 'x'), target: '<= 1.5x', met: atMost(n('extract_ratio_vs_unzip'), 1.5) },
    { what: 'extract, quarter size', agent: s(n('extract_seconds_small'), ' s'), baseline: `unzip -q ${s(n('unzip_seconds_small'), ' s')}`, ratio: s(n('extract_ratio_vs_unzip_small'), 'x'), target: '' },
    { what: 'extract peak RSS', agent: s(n('extract_peak_rss_mib'), ' MiB', 0), baseline: `unzip ${s(n('unzip_peak_rss_mib'), ' MiB', 0)}`, ratio: '', target: '<= 128 MiB', met: atMost(n('extract_peak_rss_mib'), 128) },
    { what: 'extract peak RSS, quarter', agent: s(n('extract_peak_rss_mib_small'), ' MiB', 0), baseline: '', ratio: '', target: '<= 128 MiB, ~same', met: atMost(n('extract_peak_rss_mib_small'), 128) },
    { what: `http deploy (${s(n('http_archive_mib'), ' MiB', 0)})`, agent: s(n('http_deploy_seconds'), ' s'), baseline: `curl+unzip+ln ${s(n('http_curl_unzip_seconds'), ' s')}`, ratio: s(n('http_deploy_ratio_vs_curl_unzip'), 'x'), target: '' },
    { what: `delta http update (${s(n('delta_archive_mib'), ' MiB', 0)}, 1 file changed)`, agent: s(n('delta_http_seconds'), ' s'), baseline: `full download ${s(n('full_http_seconds'), ' s')}`, ratio: s(n('delta_http_ratio'), 'x'), target: '<= 0.3x', met: atMost(n('delta_http_ratio'), 0.3) },
    { what: 'delta http bytes', agent: `${n('delta_http_bytes') ?? 'n/a'} B`, baseline: '', ratio: s(n('delta_http_bytes_percent'), '%', 2), target: '<= 1% of archive', met: atMost(n('delta_http_bytes_percent'), 1) },
    { what: 'delta s3 update', agent: `${n('delta_s3_requests') ?? 'n/a'} req, ${n('delta_s3_bytes') ?? 'n/a'} B body`, baseline: '', ratio: '', target: '' },
    {
      what: `delta git, 1 file changed (${n('delta_git_repo_files') ?? '?'} files)`,
      agent: s(n('delta_git_seconds'), ' s'),
      baseline: `fetch+archive+ln ${s(n('delta_git_cli_seconds'), ' s')}`,
      ratio: s(n('delta_git_ratio_vs_git_cli'), 'x'),
      target: '<= 0.8x',
      met: atMost(n('delta_git_ratio_vs_git_cli'), 0.8),
    },
    ...(f.reflink_fs === undefined
      ? []
      : [
          { what: 'delta http update, XFS reflink', agent: s(n('delta_http_seconds_reflink'), ' s'), baseline: `full download ${s(n('full_http_seconds_reflink'), ' s')}`, ratio: s(n('delta_http_ratio_reflink'), 'x'), target: '<= 0.3x', met: atMost(n('delta_http_ratio_reflink'), 0.3) },
          { what: 'delta git, XFS reflink', agent: s(n('delta_git_seconds_reflink'), ' s'), baseline: `fetch+archive+ln ${s(n('delta_git_cli_seconds_reflink'), ' s')}`, ratio: s(n('delta_git_ratio_vs_git_cli_reflink'), 'x'), target: '<= 0.8x', met: atMost(n('delta_git_ratio_vs_git_cli_reflink'), 0.8) },
        ]),
    { what: `git deploy, new commit (${n('git_repo_files') ?? '?'} files)`, agent: s(n('git_deploy_seconds'), ' s'), baseline: `fetch+archive+ln ${s(n('git_cli_seconds'), ' s')}`, ratio: s(n('git_deploy_ratio_vs_git_cli'), 'x'), target: '' },
    {
      what: 'idle check, http',
      agent: `${n('idle_check_requests_http') ?? 'n/a'} req, ${n('idle_check_body_bytes_http') ?? 'n/a'} B body`,
      baseline: s(n('idle_check_ms_http'), ' ms', 0),
      ratio: '',
      target: '1 req, 0 B',
      met: n('idle_check_requests_http') === undefined ? undefined : n('idle_check_requests_http') === 1 && n('idle_check_body_bytes_http') === 0,
    },
    {
      what: 'idle check, git',
      agent: `${s(n('idle_check_ms_git'), ' ms', 0)}, ${n('idle_check_git_ls_refs') ?? '?'} ls-remote`,
      baseline: `${n('idle_check_git_fetches') ?? '?'} fetches`,
      ratio: '',
      target: '1 ls-remote',
      met: n('idle_check_git_ls_refs') === undefined ? undefined : n('idle_check_git_connections') === 1 && n('idle_check_git_ls_refs') === 1,
    },
    {
      what: 'idle check, s3',
      agent: `${n('idle_check_requests_s3') ?? 'n/a'} req, ${n('idle_check_body_bytes_s3') ?? 'n/a'} B body`,
      baseline: s(n('idle_check_ms_s3'), ' ms', 0),
      ratio: '',
      target: '1 req, 0 B',
      met: n('idle_check_requests_s3') === undefined ? undefined : n('idle_check_requests_s3') === 1 && n('idle_check_body_bytes_s3') === 0,
    },
    {
      what: `daemon idle RSS (${n('daemon_idle_seconds') ?? '?'} s)`,
      agent: s(n('daemon_idle_rss_mib'), ' MiB', 1),
      baseline: `never deployed ${s(n('daemon_idle_rss_mib_predeployed'), ' MiB', 1)}`,
      ratio: '',
      target: '<= 80 MiB',
      met: atMost(n('daemon_idle_rss_mib'), 80),
    },
    {
      what: `daemon soak, ${n('daemon_soak_deploys') ?? '?'} deploys: RSS end`,
      agent: s(n('daemon_soak_rss_mib_end'), ' MiB', 1),
      baseline: `start ${s(n('daemon_soak_rss_mib_start'), ' MiB', 1)}`,
      ratio: '',
      target: '<= 80 MiB',
      met: atMost(n('daemon_soak_rss_mib_end'), 80),
    },
    {
      what: 'daemon soak: RSS growth, 2nd half',
      agent: s(n('daemon_soak_rss_growth_second_half_mib'), ' MiB', 1),
      baseline: `half ${s(n('daemon_soak_rss_mib_half'), ' MiB', 1)}`,
      ratio: '',
      target: '<= 4 MiB',
      met: atMost(n('daemon_soak_rss_growth_second_half_mib'), 4),
    },
    {
      what: 'daemon soak: fds, children end',
      agent: `${n('daemon_soak_fds_end') ?? 'n/a'} fds, ${n('daemon_soak_children_end') ?? 'n/a'} children`,
      baseline: `start ${n('daemon_soak_fds_start') ?? 'n/a'}, ${n('daemon_soak_children_start') ?? 'n/a'}`,
      ratio: '',
      target: 'no growth',
      met: n('daemon_soak_fds_end') === undefined ? undefined : n('daemon_soak_fds_end')! <= n('daemon_soak_fds_start')! && n('daemon_soak_children_end')! <= n('daemon_soak_children_start')!,
    },
    {
      what: 'daemon, 50 apps: idle RSS',
      agent: s(n('daemon_50_apps_rss_mib'), ' MiB', 1),
      baseline: `idle round ${s(n('daemon_50_apps_idle_round_ms'), ' ms', 0)}`,
      ratio: '',
      target: '',
    },
    {
      what: `swap reads (${n('swap_count') ?? '?'} swaps)`,
      agent: `${n('swap_failed_reads') ?? 'n/a'} failed`,
      baseline: `of ${n('swap_reads') ?? '?'} reads`,
      ratio: '',
      target: '0',
      met: n('swap_failed_reads') === undefined ? undefined : n('swap_failed_reads') === 0,
    },
  ];
  const header: Row = { what: 'workload', agent: 'agent', baseline: 'baseline', ratio: 'ratio', target: 'target' };
  const cells = (r: Row) => [r.what, r.agent, r.baseline, r.ratio, r.target, r === header ? 'met' : r.met === undefined ? '' : r.met ? 'yes' : 'NO'];
  const all = [header, ...rows].map(cells);
  const widths = all[0]!.map((_, i) => Math.max(...all.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  const title = `repo-deploy bench${f.quick ? ' (quick)' : ''}: ${String(f.machine_cpus)} cpus, ${String(f.machine_mem_gib)} GiB, data on ${String(f.machine_disk)}, node ${String(f.node)}`;
  const out = [title, line(all[0]!), line(widths.map((w) => '-'.repeat(w))), ...all.slice(1).map(line)];
  for (const kind of ['http', 'git']) {
    const p = f[`${kind}_agent_phases_ms`] as Record<string, number> | undefined;
    if (p) out.push(`${kind} deploy, agent's best run (ms): start-up+check ${p.startCheck}, fetch+extract ${p.fetch}, publish (sync -f)+swap ${p.publishSwap}, finish ${p.finish}, exit ${p.exit}`);
  }
  const errors = f.errors as Record<string, string> | undefined;
  for (const [name, reason] of Object.entries(errors ?? {})) out.push(`${name}: did not run: ${reason}`);
  return out.join('\n');
}
