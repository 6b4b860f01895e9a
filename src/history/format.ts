import { stripControl } from '../hooks/output.js';
import type { HistoryEntry } from './history.js';

/** `history` for people: per app, one line per entry, newest first, as a table. */
export function formatHistory(apps: readonly { app: string; entries: readonly HistoryEntry[] }[]): string {
  return apps.map(({ app, entries }) => [`${app}:`, ...(entries.length ? table(entries) : ['  no history yet'])].join('\n')).join('\n\n');
}

function table(entries: readonly HistoryEntry[]): string[] {
  const rows = [
    ['TIME', 'ACTION', 'RESULT', 'FROM', 'TO', 'DURATION', 'BY'],
    ...entries.map((e) => [
      e.at,
      e.action,
      e.result,
      versionAt(e.fromVersion, e.fromRelease),
      versionAt(e.toVersion, e.toRelease),
      `${(e.durationMs / 1000).toFixed(1)}s`,
      e.actor === 'agent' ? `agent ${e.by}` : e.by,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines: string[] = [];
  rows.forEach((row, i) => {
    lines.push(`  ${row.map((cell, j) => cell.padEnd(widths[j]!)).join('  ').trimEnd()}`);
    const message = i > 0 ? entries[i - 1]!.message : undefined;
    if (message) lines.push(`    ${message}`);
  });
  // Messages hold hook output and remote errors: nothing printed may drive the terminal.
  return lines.map(stripControl);
}

function versionAt(version: string | undefined, release: string | undefined): string {
  if (!version && !release) return '-';
  const short = version && version.length > 20 ? `${version.slice(0, 19)}…` : version;
  return release ? `${short ?? '?'} (${release})` : short!;
}
