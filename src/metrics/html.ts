import { shortVersion } from '../log-pretty.js';
import { stripUrlCredentials } from '../util/redact.js';

/**
 * The few HTML pieces the status page is built from. Every value shown goes through `text`,
 * which escapes it and removes URL credentials: nothing a remote, a hook or etcd hands us can
 * become markup, and a token in an error message never reaches a browser.
 */

const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `value` as HTML text (safe in element content and in quoted attributes). */
export function text(value: unknown): string {
  const raw = typeof value === 'string' ? value : value === undefined || value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return stripUrlCredentials(raw).replace(/[&<>"']/g, (c) => entities[c]!);
}

/** Markup already built by these helpers (never raw input). */
export interface Html {
  readonly html: string;
}

/** Marks built markup, so `cell` does not escape it twice. */
export const html = (markup: string): Html => ({ html: markup });

/** A cell's content: plain values are escaped, `Html` is inserted as is. */
export function cell(value: unknown): string {
  return value instanceof Object && 'html' in value && typeof value.html === 'string' ? value.html : text(value);
}

/** A table with a header row; the `empty` text when there are no rows. */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[], empty = 'none'): string {
  if (rows.length === 0) return `<p class="none">${text(empty)}</p>`;
  const head = headers.map((h) => `<th>${text(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((v) => `<td>${cell(v)}</td>`).join('')}</tr>`).join('\n');
  return `<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

/** Label / value rows (a definition list), skipping rows whose value is undefined. */
export function facts(rows: readonly (readonly [string, unknown])[]): string {
  const shown = rows.filter(([, v]) => v !== undefined);
  return `<dl>${shown.map(([k, v]) => `<dt>${text(k)}</dt><dd>${cell(v)}</dd>`).join('')}</dl>`;
}

/**
 * Any JSON-like value as HTML: an array of records as a table of their keys, a record as
 * label / value rows, anything else as text. What lets new fleet data (or history entries of
 * a shape this module does not know) show up without a renderer of its own.
 */
export function anyValue(value: unknown): string {
  if (Array.isArray(value)) {
    if (!value.every((v) => v instanceof Object && !Array.isArray(v))) return `<p>${value.map(text).join(', ') || 'none'}</p>`;
    const records = value as Record<string, unknown>[];
    const keys = [...new Set(records.flatMap((r) => Object.keys(r)))];
    return table(keys, records.map((r) => keys.map((k) => r[k])));
  }
  if (value instanceof Object) return facts(Object.entries(value));
  return `<p>${text(value)}</p>`;
}

/** A version in a narrow column: short, the whole of it in the tooltip. */
export function version(value: string | undefined): Html | string {
  if (!value) return '-';
  return html(`<code title="${text(value)}">${text(shortVersion(value))}</code>`);
}

/** A result as a coloured badge: green when the host runs what it should, red when not. */
export function badge(result: string | undefined): Html {
  if (!result) return html('<span class="badge">never</span>');
  const good = ['up-to-date', 'deployed', 'held', 'good', 'ok'];
  const bad = ['failed', 'reverted', 'blocked', 'backing-off', 'quarantined'];
  const kind = good.includes(result) ? ' good' : bad.includes(result) ? ' bad' : '';
  return html(`<span class="badge${kind}">${text(result)}</span>`);
}

/** An ISO time with how long ago (or ahead) it is, from `now`. */
export function when(iso: string | undefined, now: Date): Html | undefined {
  if (!iso) return undefined;
  const ms = Date.parse(iso) - now.getTime();
  if (Number.isNaN(ms)) return html(text(iso));
  const abs = Math.abs(ms) / 1000;
  const span = abs < 90 ? `${Math.round(abs)} s` : abs < 5400 ? `${Math.round(abs / 60)} min` : abs < 172_800 ? `${Math.round(abs / 3600)} h` : `${Math.round(abs / 86_400)} d`;
  // Seconds are enough to read; the exact time stays in the attribute.
  const shown = iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return html(`<time datetime="${text(iso)}">${text(shown)}</time> <span class="ago">(${ms <= 0 ? `${span} ago` : `in ${span}`})</span>`);
}
