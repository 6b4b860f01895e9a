/**
 * Reads the config file with the rules of Python's `configparser.ConfigParser` (strict mode,
 * default options), which the original repo-deploy 1.0.x used, so its files mean the same here:
 *
 * - a comment is a line whose first non-blank character is `#` or `;`; there are no inline
 *   comments: `remote = file:///srv/app.git/web#release` keeps its `#release`;
 * - `key = value` and `key: value`, split at the first `=` or `:`; key and value are trimmed,
 *   keys are lower-cased (ConfigParser's `optionxform`);
 * - a line indented deeper than the key line before it continues that key's value (joined
 *   with a newline); blank lines inside such a value are kept, trailing ones dropped;
 * - `[NAME]` starts a section; a section named twice is an error (strict mode);
 * - anything else (a line without `=` or `:`, an empty key, `[app web` without `]`) is an error.
 *
 * Unlike ConfigParser, keys before the first section are allowed (they configure the default
 * app), and text after a section's `]` must be a comment. Duplicate keys are left to the
 * caller, which knows the aliases (`repository` = `remote`). Every entry and problem carries
 * its 1-based line number.
 *
 * No npm package reads this dialect with line numbers: `ini` cuts values at `#`/`;` and merges
 * duplicates; the others found either strip inline comments or report no positions.
 */

/** One `key = value` of the file. */
export interface IniEntry {
  /** Lower-cased, trimmed key. */
  key: string;
  /** Value, trimmed; continuation lines joined with `\n`. */
  value: string;
  /** Line of the key. */
  line: number;
}

/** A section, or the keys before the first section (`name` null). */
export interface IniSection {
  /** Text between `[` and `]`, trimmed; null for the top level. */
  name: string | null;
  /** Line of the header (0 for the top level). */
  line: number;
  entries: IniEntry[];
}

/** A line that could not be read. */
export interface IniProblem {
  line: number;
  message: string;
}

/** What `readIni` found: sections in file order (the top level first), and problems. */
export interface IniDocument {
  sections: IniSection[];
  problems: IniProblem[];
}

const commentPrefixes = ['#', ';'];

/** Parses `text`; never throws: every unreadable line becomes a problem. */
export function readIni(text: string): IniDocument {
  const top: IniSection = { name: null, line: 0, entries: [] };
  const sections: IniSection[] = [top];
  const problems: IniProblem[] = [];
  const seenSections = new Map<string, number>();
  let current = top;
  // The entry continuation lines extend, and the indentation of its key line.
  let open: { entry: IniEntry; indent: number; blanks: number } | undefined;

  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    const stripped = raw.trim();
    if (commentPrefixes.some((p) => stripped.startsWith(p))) return;
    if (stripped === '') {
      if (open) open.blanks++;
      return;
    }
    const indent = raw.length - raw.trimStart().length;
    if (open && indent > open.indent) {
      open.entry.value += '\n'.repeat(open.blanks + 1) + stripped;
      open.blanks = 0;
      return;
    }
    open = undefined;
    if (stripped.startsWith('[')) {
      const close = stripped.lastIndexOf(']');
      const after = close === -1 ? '' : stripped.slice(close + 1).trim();
      const name = close === -1 ? '' : stripped.slice(1, close).trim();
      if (close === -1 || name === '' || (after !== '' && !commentPrefixes.some((p) => after.startsWith(p)))) {
        problems.push({ line, message: `malformed section header ${JSON.stringify(stripped)}: write [app NAME], with the closing ] and nothing after it but a comment` });
        // Keys that follow belong to no known section: collect them in a throw-away one so they
        // are neither given to the previous section nor reported once more as unknown.
        current = { name: '', line, entries: [] };
        return;
      }
      const first = seenSections.get(name);
      if (first !== undefined) {
        problems.push({ line, message: `duplicate section [${name}]: already started on line ${first}; merge the two sections into one` });
        current = { name: '', line, entries: [] };
        return;
      }
      seenSections.set(name, line);
      current = { name, line, entries: [] };
      sections.push(current);
      return;
    }
    const delimiter = stripped.search(/[=:]/);
    const key = delimiter === -1 ? '' : stripped.slice(0, delimiter).trim().toLowerCase();
    if (key === '') {
      // The line is not echoed: a key whose `=` was forgotten may be followed by a secret.
      problems.push({ line, message: 'not a setting: write key = value (or key: value), [app NAME], or a comment line starting with # or ;' });
      return;
    }
    const entry: IniEntry = { key, value: stripped.slice(delimiter + 1).trim(), line };
    current.entries.push(entry);
    open = { entry, indent, blanks: 0 };
  });
  return { sections, problems };
}
