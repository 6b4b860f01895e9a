// No function in src/ is longer than 60 lines: a long function bundles steps that deserve names.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../..', import.meta.url));
const maxLines = 60;
/** Everything under src/. */
const checked = ['src'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every function-like node longer than `maxLines`, as `file:line name (n lines)`. */
function longFunctions(files: readonly string[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
        const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
        const lines = end - start + 1;
        const name = node.name && ts.isIdentifier(node.name) ? node.name.text : '(anonymous)';
        if (lines > maxLines) found.push(`${relative(root, file)}:${start + 1} ${name} (${lines} lines)`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

test(`no function over ${maxLines} lines in ${checked.join(', ')}`, () => {
  const files = sourceFiles(join(root, 'src')).filter((f) => checked.some((c) => relative(root, f) === c || relative(root, f).startsWith(`${c}/`)));
  assert.ok(files.length > 20, `found only ${files.length} files`);
  assert.deepEqual(longFunctions(files), []);
});

test('the check sees a long function, and only that one', () => {
  const body = (n: number) => Array.from({ length: n }, (_, i) => `  const x${i} = ${i};`).join('\n');
  const dir = mkdtempSync(join(tmpdir(), 'function-length-'));
  const file = join(dir, 'sample.ts');
  writeFileSync(file, `export function long() {\n${body(maxLines)}\n}\nconst short = () => {\n${body(maxLines - 2)}\n};\n`);
  try {
    assert.deepEqual(longFunctions([file]).map((f) => f.replace(/^.*sample\.ts/, 'sample.ts')), [`sample.ts:1 long (${maxLines + 2} lines)`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
