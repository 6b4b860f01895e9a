// Fixture helpers for the zip reader's differential tests: archives written by Python's
// `zipfile` or Info-ZIP `zip`, then edited byte by byte, and the result `unzip` makes of the
// very same bytes, to hold ours against.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractZip } from '../../src/extract/zip.js';
import { defaultLimits } from '../../src/config/types.js';
import { snapshot, testdir } from '../support/tmp.js';

/** One entry for `pyZip`: text or bytes, an optional entry comment and extra field. */
export interface PyEntry {
  name: string;
  data?: string | Buffer;
  comment?: string | Buffer;
  /** Raw extra-field bytes for the central directory and the local header. */
  extra?: Buffer;
  /** Deflate (default) or store. */
  stored?: boolean;
  /** `(year, month, day, h, m, s)` stored as the DOS time. */
  dateTime?: [number, number, number, number, number, number];
  /** Unix mode (with file type bits), default 0o100644. */
  mode?: number;
}

const script = `
import base64, json, sys, zipfile
spec = json.load(sys.stdin)
with zipfile.ZipFile(spec['path'], 'w') as z:
    for e in spec['entries']:
        info = zipfile.ZipInfo(e['name'], tuple(e.get('dateTime') or (2020, 1, 2, 3, 4, 6)))
        info.compress_type = zipfile.ZIP_STORED if e.get('stored') else zipfile.ZIP_DEFLATED
        info.external_attr = e.get('mode', 0o100644) << 16
        info.create_system = 3
        if e.get('comment') is not None: info.comment = base64.b64decode(e['comment'])
        if e.get('extra') is not None: info.extra = base64.b64decode(e['extra'])
        z.writestr(info, base64.b64decode(e['data']))
`;

const b64 = (v: string | Buffer) => Buffer.from(v).toString('base64');

/** A zip written by Python's `zipfile` (no data descriptors, UTF-8 flag on non-ASCII names). */
export function pyZip(entries: PyEntry[]): Buffer {
  const path = join(testdir(), 'py.zip');
  const spec = entries.map((e) => ({ ...e, data: b64(e.data ?? ''), comment: e.comment === undefined ? null : b64(e.comment), extra: e.extra ? b64(e.extra) : null }));
  execFileSync('python3', ['-c', script], { input: JSON.stringify({ path, entries: spec }) });
  return readFileSync(path);
}

/** What a reader made of an archive: the tree it wrote, or the error it gave. */
export type Outcome = { ok: Record<string, string> } | { error: string };

/** Extracts `zip` with our reader into a fresh directory. */
export async function ours(zip: Buffer, options: { name?: string } = {}): Promise<Outcome & { archive: string }> {
  const root = testdir();
  const archive = join(root, options.name ?? 'app.zip');
  writeFileSync(archive, zip);
  const dest = join(root, 'dest');
  mkdirSync(dest);
  try {
    await extractZip(archive, dest, { limits: defaultLimits });
    return { ok: snapshot(dest), archive };
  } catch (error) {
    return { error: (error as Error).message, archive };
  }
}

/** Extracts `zip` with Info-ZIP `unzip` (UTF-8 locale, so Unicode Path fields are honoured). */
export function theirs(zip: Buffer): Outcome {
  const root = testdir();
  const archive = join(root, 'app.zip');
  writeFileSync(archive, zip);
  const dest = join(root, 'dest');
  const r = spawnSync('unzip', ['-qq', archive, '-d', dest], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  // 1 is "warnings only" (e.g. extra bytes before the archive): the files are all there.
  if (r.status !== 0 && r.status !== 1) return { error: `unzip exit ${r.status}: ${r.stderr}${r.stdout}` };
  return { ok: snapshot(dest) };
}

/** Python's `zipfile` reading every entry of `zip`: name -> content (latin1), or its error. */
export function pythonReads(zip: Buffer): Record<string, string> | { error: string } {
  const path = join(testdir(), 'in.zip');
  writeFileSync(path, zip);
  const code = `
import json, sys, zipfile
try:
    with zipfile.ZipFile(sys.argv[1]) as z:
        print(json.dumps({i.filename: z.read(i).decode('latin1') for i in z.infolist() if not i.is_dir()}))
except Exception as e:
    print(json.dumps({'error': repr(e)}))
`;
  return JSON.parse(execFileSync('python3', ['-c', code, path], { encoding: 'utf8' })) as Record<string, string> | { error: string };
}

/** Offset of the last end-of-central-directory record. */
export function eocdOf(zip: Buffer): number {
  return zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
}
