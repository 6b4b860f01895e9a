import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { VerificationError, messageOf } from '../errors.js';
import { listHooks } from '../hooks/list.js';
import { makeReleaseId } from '../release/release-id.js';
import type { Observation } from '../remotes/types.js';
import { checkSharedFiles } from '../shared/link-shared.js';
import type { RunContext } from '../pipeline/context.js';

/**
 * What `--dry-run` says an update would do: the release it would make (or activate again),
 * the hooks that would run, and the download. With `--dry-run=fetch`, the version is also
 * fetched into a staging directory and checked as a real run checks it before the hooks
 * (download, signature and digest, archive limits and links, shared files), then discarded.
 */

/** The details of a dry run, printed after its outcome line. */
export interface DryRunReport {
  /** The release directory the update would make current. */
  releasePath: string;
  /** True when a release of this version already on disk would be activated again. */
  reuse: boolean;
  /** Hooks that would run, in order, by phase (file names; the release's own are known only with a fetch). */
  hooks: { 'pre-update': string[]; 'post-update': string[] };
  /** Size of the archive in bytes, when the remote told it. */
  downloadBytes?: number;
  /** With a fetch: what it gave (files, bytes transferred, content id), or why it was refused. */
  fetched?: { files: number; bytesDownloaded: number; contentId: string } | { refused: string };
}

/** Options of `describeUpdate`. */
export interface DryRunInput {
  version: string;
  /** A release of this version that would be activated again, or null for a new one. */
  reuse: string | null;
  observation: Observation;
  /** `--dry-run=fetch`. */
  fetch: boolean;
}

/** Builds the report of a dry run; changes nothing the agent or the app can see. */
export async function describeUpdate(ctx: RunContext, input: DryRunInput): Promise<DryRunReport> {
  const releaseId = input.reuse ?? makeReleaseId(ctx.now(), input.version, (id) => id in ctx.state.releases);
  const size = Number(input.observation.detail?.bytes ?? input.observation.detail?.size);
  const report: DryRunReport = {
    releasePath: ctx.store.pathOf(releaseId),
    reuse: input.reuse !== null,
    hooks: { 'pre-update': await hookNames(ctx.app.preHooks), 'post-update': await hookNames(ctx.app.postHooks) },
    ...(Number.isFinite(size) && size > 0 ? { downloadBytes: size } : {}),
  };
  if (input.fetch && !input.reuse) report.fetched = await fetchAndDiscard(ctx, input.version, report);
  return report;
}

/** Fetches into a staging directory, runs the checks a real run makes before the hooks, removes it. */
async function fetchAndDiscard(ctx: RunContext, version: string, report: DryRunReport): Promise<DryRunReport['fetched']> {
  const staging = await ctx.store.createStaging();
  try {
    const fetched = await ctx.remote.fetch(version, staging, ctx.remoteCtx);
    if (fetched.files === 0) throw new VerificationError(`version ${version} of ${ctx.remote.display} holds no regular file`);
    if (ctx.app.shared?.length) await checkSharedFiles(ctx.app.deployDir, ctx.app.shared);
    if (ctx.app.releaseHooks) {
      for (const phase of ['pre-update', 'post-update'] as const) report.hooks[phase].push(...(await hookNames(join(staging, '.repo-deploy', `${phase}.d`))).map((n) => `.repo-deploy/${phase}.d/${n}`));
    }
    return { files: fetched.files, bytesDownloaded: fetched.bytesDownloaded, contentId: fetched.contentId };
  } catch (error) {
    return { refused: messageOf(error) };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The outcome of a dry run: `deployed` (would deploy), or `failed` when its fetch was refused. */
export async function dryRunOutcome(ctx: RunContext, input: DryRunInput): Promise<{ result: 'would-deploy' | 'failed'; version: string; dryRun: DryRunReport; error?: Error }> {
  const dryRun = await describeUpdate(ctx, input);
  const refused = dryRun.fetched && 'refused' in dryRun.fetched ? dryRun.fetched.refused : undefined;
  return refused ? { result: 'failed', version: input.version, dryRun, error: new Error(`dry run: ${refused}`) } : { result: 'would-deploy', version: input.version, dryRun };
}

async function hookNames(dir: string): Promise<string[]> {
  return (await listHooks(dir)).run;
}

/** The report as lines for the terminal, under the outcome line. */
export function formatDryRun(report: DryRunReport): string[] {
  const lines = [
    `  release: ${report.releasePath}${report.reuse ? ' (on disk, activated again)' : ''}`,
    `  pre-update hooks: ${report.hooks['pre-update'].join(', ') || 'none'}`,
    `  post-update hooks: ${report.hooks['post-update'].join(', ') || 'none'}`,
  ];
  if (report.downloadBytes !== undefined) lines.push(`  download: ${report.downloadBytes} bytes`);
  if (report.fetched && 'refused' in report.fetched) lines.push(`  fetch: refused: ${report.fetched.refused}`);
  else if (report.fetched) lines.push(`  fetch: ok, ${report.fetched.files} files, ${report.fetched.bytesDownloaded} bytes downloaded, content ${report.fetched.contentId}; discarded`);
  return lines;
}
