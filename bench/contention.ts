// A noisy neighbour for the extraction benchmark: one CPU burner per core and one process
// writing and fsyncing to the disk under test, so the extractor's memory is measured while
// the disk is slower than inflation (issue 15), not only on an idle machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { rmSync } from 'node:fs';

const burn = 'for (;;) Math.sqrt(Math.random());';
// 4 MiB writes, fsynced, in a 512 MiB file rewritten from the start: steady write-back load.
const write = `
const fs = require('node:fs');
const fd = fs.openSync(process.argv[1], 'w');
const chunk = Buffer.alloc(4 * 1024 * 1024, 7);
for (let at = 0; ; at = (at + chunk.length) % (512 * 1024 * 1024)) { fs.writeSync(fd, chunk, 0, chunk.length, at); fs.fdatasyncSync(fd); }
`;

/** Runs `work` while every core is busy and another process writes to `dir`'s disk. */
export async function withContention<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const file = join(dir, 'contender.bin');
  const children: ChildProcess[] = cpus().map(() => spawn(process.execPath, ['-e', burn], { stdio: 'ignore' }));
  children.push(spawn(process.execPath, ['-e', write, file], { stdio: 'ignore' }));
  // Let the writer fill the page cache and the burners get scheduled before measuring.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  try {
    return await work();
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((resolve) => child.once('exit', resolve)) : null)));
    rmSync(file, { force: true });
  }
}
