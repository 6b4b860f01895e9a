const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration: plain seconds (`90`, `1.5`) or a number with a unit suffix
 * (`500ms`, `90s`, `10m`, `1h`, `2d`). Returns milliseconds, or null when malformed.
 */
export function parseDuration(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!match) return null;
  const value = Number(match[1]) * units[(match[2] ?? 's').toLowerCase()]!;
  return Number.isFinite(value) ? Math.round(value) : null;
}

/** Formats milliseconds compactly for messages: `1h`, `10m`, `90s`, `250ms`. */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)}s`;
  return `${ms}ms`;
}
