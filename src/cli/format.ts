import type { CheckOutcome } from '../pipeline/check.js';
import { describeOutcome } from '../pipeline/results.js';
import type { AppStatus, ReleaseInfo } from '../status.js';
import { stripControl } from '../hooks/output.js';
import { progressiveRows } from '../pipeline/progressive-status.js';
import { formatDryRun } from '../dry-run/dry-run.js';
import { shorten } from '../log-pretty.js';

/** Human-readable `status`: a table of all apps, then one block of details per app. */
export function formatStatus(statuses: readonly AppStatus[]): string {
  return [summaryTable(statuses), ...statuses.map(formatApp)].join('\n\n');
}

/** One row per app: the facts an operator scans first. */
function summaryTable(statuses: readonly AppStatus[]): string {
  const rows = [
    ['APP', 'CURRENT', 'VERSION', 'LAST CHECK', 'RESULT', 'NEXT TRY'],
    ...statuses.map((s) => [
      s.app,
      s.current?.id ?? (s.linkState === 'release' ? '?' : '-'),
      shorten(s.current?.version ?? '-'),
      s.lastCheck?.at ?? 'never',
      s.updating ? `updating to ${shorten(s.updating.version)}` : s.hold ? 'held' : (s.lastCheck?.result ?? '-'),
      s.failing?.nextTryAt ?? '-',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

function formatApp(s: AppStatus): string {
  const rows: [string, string][] = [
    ['app', s.app],
    ['remote', s.remote],
    ['link', `${s.link}${s.linkState === 'release' ? '' : ` (${describeLink(s.linkState)})`}`],
    ['current', s.current ? release(s.current) : '-'],
  ];
  if (s.current?.detail?.filesReused) rows.push(['built', builtFrom(s.current.detail)]);
  rows.push(['previous', s.previous ? release(s.previous) : '-']);
  if (s.seenVersion) rows.push(['latest version', `${s.seenVersion} (same content as current)`]);
  rows.push(['last check', s.lastCheck ? `${s.lastCheck.at} ${s.lastCheck.result}${s.lastCheck.version ? ` ${s.lastCheck.version}` : ''}` : 'never']);
  if (s.lastCheck?.error) rows.push(['error', s.lastCheck.error]);
  rows.push(['last success', s.lastSuccessAt ?? 'never']);
  if (s.failing) {
    rows.push(['failing', `${s.failing.version}: ${s.failing.failures} failure(s), next try ${s.failing.nextTryAt}`]);
  }
  if (s.hold) {
    // Right after a rollback the last check still names the version rolled back from: say it is held.
    rows.push(['held', `at ${s.hold.releaseId} since ${s.hold.at} by a rollback (not redeploying ${s.hold.fromVersions.join(', ') || 'the version rolled back from'}); repo-deploy resume${s.app === 'default' ? '' : ` ${s.app}`} lifts it`]);
  }
  if (s.restartNeeded) {
    rows.push(['daemon', `pid ${s.restartNeeded.pid} runs an older repo-deploy than the installed files (changed: ${s.restartNeeded.files.join(', ')}; noticed ${s.restartNeeded.since}): restart it`]);
  }
  rows.push(...progressiveRows(s));
  if (s.updating) rows.push(['updating', updatingLine(s.updating)]);
  if (s.interrupted) rows.push(['interrupted', `${s.interrupted.releaseId} (${s.interrupted.phase}); the next run settles it`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  if (s.lastHookOutput.length) {
    lines.push('hook output (last lines):', ...s.lastHookOutput.slice(-10).map((l) => `  ${l}`));
  }
  // Hook output (kept raw by older versions), trusted comments, refs: nothing printed may drive
  // the operator's terminal.
  return lines.map(stripControl).join('\n');
}

/** `v2 -> release X: pre-update hook 10-migrate (since T; pid N, started T0)`. */
function updatingLine(u: NonNullable<AppStatus['updating']>): string {
  const where = u.releaseId ? ` -> release ${u.releaseId}` : '';
  const step = u.hook ? `${u.step} hook ${u.hook}` : u.step;
  return `${u.version}${where}: ${step} (since ${u.stepAt}; pid ${u.pid}, started ${u.startedAt})`;
}

function release(r: ReleaseInfo): string {
  const signed = r.detail?.trustedComment ?? (r.detail?.signedBy ? `${r.detail.signer ?? 'key'} ${r.detail.signedBy}${r.detail.signedTag ? ` (tag ${r.detail.signedTag})` : ''}` : undefined);
  const commit = r.detail?.commit && r.detail.ref ? `, ${r.detail.ref} at ${r.detail.commit.slice(0, 12)}` : '';
  // How the archive came (`delta: 302581 of 92673631 bytes in 3 requests`, `full: …`).
  const download = r.detail?.download ? `, downloaded ${r.detail.download}` : '';
  const extra = `${commit}${signed ? `, signed: ${signed}` : ''}${download}`;
  return `${r.id} (version ${r.version}${r.status === 'good' ? '' : `, ${r.status}`}${extra})`;
}

/** How a release was built: the files cloned from the release before it, of all. */
function builtFrom(detail: Record<string, string>): string {
  const [reused, total] = detail.filesReused!.split('/');
  const mib = (Number(detail.bytesReused ?? 0) / 1048576).toFixed(1);
  return `${reused} of ${total} files reused from the release before (${mib} MiB not written again)`;
}

function describeLink(kind: AppStatus['linkState']): string {
  return kind === 'missing' ? 'nothing deployed yet' : kind === 'directory' ? 'a real directory: kept as a release on the first deploy' : 'points outside the releases';
}

/** `releases`: one line per release, oldest first. */
export function formatReleases(statuses: readonly AppStatus[]): string {
  return statuses
    .map((s) => {
      const lines = s.releases.map((r) => {
        const mark = r.id === s.current?.id ? '*' : r.id === s.previous?.id ? '-' : ' ';
        return `${mark} ${r.id}  ${r.status.padEnd(7)} ${r.version}`;
      });
      return [`${s.app} (${s.link})`, ...(lines.length ? lines : ['  no releases'])].join('\n');
    })
    .join('\n\n');
}

/** One line per app after `-f` (the wording is the results table's); a dry run adds its details. */
export function formatOutcome(o: CheckOutcome): string {
  const line = describeOutcome(o);
  return o.dryRun ? [line, ...formatDryRun(o.dryRun)].join('\n') : line;
}
