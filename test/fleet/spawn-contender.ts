// Starts test/fleet/contender.ts as a separate agent process, for the fleet tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';

const script = fileURLToPath(new URL('./contender.ts', import.meta.url));

/** Options a contender process takes (see contender.ts). */
export interface ContenderOptions {
  endpoint: string;
  group: string;
  agentId: string;
  maxParallel: number;
  leaseTtlMs: number;
  version: string;
  holdMs: number;
  recordFile: string;
  deadlineMs?: number;
  mode?: 'slot' | 'report';
}

/** A running contender: its process, its exit, and a way to wait for a line on stdout. */
export interface Contender {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** Resolves when stdout has printed a line starting with `prefix`. */
  line(prefix: string, ms?: number): Promise<string>;
}

/** Spawns one contender; killed when the test file ends if still running. */
export function spawnContender(options: ContenderOptions): Contender {
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const listener of listeners) listener();
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const line = (prefix: string, ms = 20_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = stdout.split('\n').find((l) => l.startsWith(prefix));
        if (found !== undefined) {
          listeners.delete(check);
          clearTimeout(timer);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`contender ${options.agentId} printed no "${prefix}" in ${ms} ms; stderr:\n${stderr.slice(-2000)}`));
      }, ms);
      listeners.add(check);
      void exited.then(() => setTimeout(check, 10));
      check();
    });
  return { child, exited, line };
}

/** One `event agent time` line of a contender's record file. */
export interface RecordLine {
  event: string;
  agent: string;
  time: number;
}

/** Parses a record file written by contenders. */
export function readRecords(file: string): RecordLine[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [event, agent, time] = l.split(' ');
      return { event: event!, agent: agent!, time: Number(time) };
    });
}

/** Largest number of [start, end] intervals open at one moment. */
export function maxOverlap(intervals: Array<{ start: number; end: number }>): number {
  // Ends sort before starts at the same millisecond: touching intervals do not overlap.
  const events = intervals.flatMap((i) => [
    { t: i.start, d: 1 },
    { t: i.end, d: -1 },
  ]);
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let most = 0;
  for (const e of events) {
    open += e.d;
    most = Math.max(most, open);
  }
  return most;
}
