// No function over 60 lines in the remotes, config, verify, extract, util, release and hooks
// directories of src/: every function, method and arrow function, measured from its first
// line to its last by the TypeScript parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const root = join(import.meta.dirname, '../..');
const dirs = ['remotes', 'config', 'verify', 'extract', 'util', 'release', 'hooks'];
const maxLines = 60;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** `file:line name (N lines)` for each function of `path` longer than `maxLines`. */
function longFunctions(path: string): string[] {
  const file = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
      const last = file.getLineAndCharacterOfPosition(node.getEnd()).line;
      const name = 'name' in node && node.name ? node.name.getText(file) : '(anonymous)';
      if (last - first + 1 > maxLines) found.push(`${relative(root, path)}:${first + 1} ${name} (${last - first + 1} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

test(`no function over ${maxLines} lines in src/{${dirs.join(',')}}`, () => {
  const files = dirs.flatMap((dir) => sources(join(root, 'src', dir)));
  assert.ok(files.length > 50, `found only ${files.length} source files: wrong root?`);
  assert.deepEqual(files.flatMap(longFunctions), []);
});
