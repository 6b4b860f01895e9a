// HTTP deploy benchmark (issue 8): the built CLI deploying a zip from a local static server,
// against `curl -o` + `unzip -q` + `ln -sfn` on the same zip from the same server; then the
// cost of an idle check (`-f` on an unchanged remote) as the server saw it.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureZip, mib } from './data.js';
import { bestRounds, cleanEnv, deployPhases, emptyHookDirs, expectVersion, type DeployPhases, progress, round, runCli, scratch, sh } from './lib.js';
import { startStaticServer } from './servers.js';

/** Options for `benchHttp`. */
export interface HttpBenchOptions {
  quick?: boolean;
  /** Timed runs per side, alternating; the best counts (default 3). */
  runs?: number;
}

/** What `benchHttp` measured. */
export interface HttpBenchResult {
  http_deploy_ratio_vs_curl_unzip: number;
  http_deploy_seconds: number;
  http_curl_unzip_seconds: number;
  http_archive_mib: number;
  http_archive_files: number;
  idle_check_requests_http: number;
  idle_check_body_bytes_http: number;
  idle_check_ms_http: number;
  /** Where the agent's best run spent its time (see `DeployPhases`), when its log said. */
  http_agent_phases_ms?: DeployPhases;
}

/** Serves a generated zip and times first deploys of it by the agent and by curl + unzip. */
export async function benchHttp(options: HttpBenchOptions = {}): Promise<HttpBenchResult> {
  const quick = options.quick ?? false;
  const runs = options.runs ?? 3;
  const files = quick ? 1000 : 4000;
  const archive = await ensureZip(`http-${files}.zip`, { files, blobBytes: quick ? 16e6 : 96e6, version: 'http-v1' });
  const work = scratch('http');
  const site = join(work, 'site');
  await sh(`mkdir -p "${site}" && ln "${archive}" "${site}/app.zip" 2>/dev/null || cp "${archive}" "${site}/app.zip"`);
  const server = await startStaticServer(site);
  const url = server.url('app.zip');
  const hooks = emptyHookDirs(work);
  const config = join(work, 'empty.cfg');
  writeFileSync(config, '');
  const env = cleanEnv();
  try {
    const agent: number[] = [];
    const phases: Array<DeployPhases | undefined> = [];
    const baseline: number[] = [];
    let lastAgentDir = '';
    for (let i = 0; i < runs; i++) {
      // Alternate which side goes first, so neither always gets the warmer page cache.
      for (const side of i % 2 === 0 ? (['agent', 'baseline'] as const) : (['baseline', 'agent'] as const)) {
        const dir = join(work, `${side}-${i}`);
        if (side === 'agent') {
          const cache = join(work, `cache-${i}`);
          const result = await runCli(['-c', config, '-f', '--cache', cache, '--pre-hooks', hooks.pre, '--post-hooks', hooks.post, url, join(dir, 'current')], { env });
          agent.push(result.seconds);
          phases.push(deployPhases(result));
          if (lastAgentDir) rmSync(lastAgentDir, { recursive: true, force: true });
          lastAgentDir = dir;
        } else {
          const result = await sh(`mkdir -p "${dir}" && cd "${dir}" && curl -sf -o f.zip "${url}" && unzip -q f.zip -d rel && ln -sfn rel current`, { env });
          baseline.push(result.seconds);
        }
        expectVersion(join(dir, 'current'), 'http-v1');
        if (side === 'baseline') rmSync(dir, { recursive: true, force: true });
      }
      progress(`http deploy run ${i + 1}: agent ${agent.at(-1)!.toFixed(2)} s, curl+unzip ${baseline.at(-1)!.toFixed(2)} s`);
    }
    // The idle check: the same agent state, the same unchanged remote.
    server.reset();
    const cache = join(work, `cache-${runs - 1}`);
    const idle = await runCli(['-c', config, '-f', '--cache', cache, '--pre-hooks', hooks.pre, '--post-hooks', hooks.post, url, join(lastAgentDir, 'current')], { env });
    const seen = { ...server.counters };
    if (!/up to date/.test(idle.stdout)) progress(`warning: the idle http check did not say "up to date": ${idle.stdout.trim()}`);
    progress(`http idle check: ${seen.requests} request(s) [${seen.statuses.join(', ')}], ${seen.bodyBytes} body bytes, ${(idle.seconds * 1000).toFixed(0)} ms`);
    const best = bestRounds('http', agent, baseline, phases);
    return {
      http_deploy_ratio_vs_curl_unzip: round(best.agent / best.baseline),
      http_deploy_seconds: round(best.agent),
      http_curl_unzip_seconds: round(best.baseline),
      http_archive_mib: round(mib(archive)),
      http_archive_files: files + 1,
      idle_check_requests_http: seen.requests,
      idle_check_body_bytes_http: seen.bodyBytes,
      idle_check_ms_http: Math.round(idle.seconds * 1000),
      ...(best.phases ? { http_agent_phases_ms: best.phases } : {}),
    };
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
