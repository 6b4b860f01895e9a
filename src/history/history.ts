import { appendFile, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { writePrivateFileAtomic } from '../util/atomic-write.js';
import { makePrivateDir, privateFileMode } from '../util/modes.js';
import { onDisk } from '../util/disk-errors.js';

/**
 * The app's history: one JSON line per deploy, block, revert, rollback, resume, retry and
 * repair, in `<deploy dir>/.repo-deploy/history.jsonl`, private like the state (it names
 * versions and errors). Bounded: past `maxEntries` (plus some slack, so the file is not
 * rewritten on every append) the oldest lines are dropped by an atomic rewrite.
 */

/** What was attempted. */
export type HistoryAction = 'deploy' | 'repair' | 'retry' | 'rollback' | 'resume';

/** One line of the history. */
export interface HistoryEntry {
  /** ISO time the action ended. */
  at: string;
  action: HistoryAction;
  /** How it ended: `deployed`, `blocked`, `reverted`, `failed`, `quarantined`, `stopped`, `resumed`… */
  result: string;
  /** Version and release current held before, when there was one. */
  fromVersion?: string;
  fromRelease?: string;
  /** Version and release the action went to (or tried to). */
  toVersion?: string;
  toRelease?: string;
  /** How long it took, in milliseconds. */
  durationMs: number;
  /** `agent` for the agent's own checks, `operator` for commands run by a person. */
  actor: 'agent' | 'operator';
  /** The agent's id, or the operator's user name (SUDO_USER when run through sudo). */
  by: string;
  /** The error or reason, when it did not succeed (credentials already removed). */
  message?: string;
}

/** Lines kept on disk. */
export const maxEntries = 1000;
/** Lines beyond `maxEntries` tolerated before the file is rewritten. */
const slack = 100;

/** Path of the history file of a deploy directory. */
export function historyPath(deployDir: string): string {
  return join(deployDir, '.repo-deploy', 'history.jsonl');
}

/**
 * Appends one entry. Callers hold the app's lock, so appends never interleave; a failure to
 * write the history is the caller's to log, never a reason to fail a deploy.
 */
export async function appendHistory(deployDir: string, entry: HistoryEntry): Promise<void> {
  const path = historyPath(deployDir);
  // A full or read-only disk is named as such (the same words as the state's errors).
  await onDisk(path, async () => {
    await makePrivateDir(join(deployDir, '.repo-deploy'), { readableParents: true });
    await appendFile(path, `${JSON.stringify(entry)}\n`, { mode: privateFileMode });
    const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
    // Rewritten atomically: a reader (status page, `history`) sees the old file or the new one.
    if (lines.length > maxEntries + slack) await writePrivateFileAtomic(path, `${lines.slice(-maxEntries).join('\n')}\n`);
  });
}

/**
 * Reads the last `limit` entries of an app's history, newest first. A missing file is an
 * empty history; a line that is not a history entry (a torn write) is skipped.
 */
export async function readHistory(deployDir: string, limit = maxEntries): Promise<HistoryEntry[]> {
  let text: string;
  try {
    const handle = await open(historyPath(deployDir), 'r');
    try {
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`error reading history ${historyPath(deployDir)}: ${(error as Error).message}`, { cause: error });
  }
  const entries: HistoryEntry[] = [];
  for (const line of text.split('\n').reverse()) {
    if (entries.length >= limit) break;
    const entry = parseLine(line);
    if (entry) entries.push(entry);
  }
  return entries;
}

/** The person running an operator command: through sudo, the user who ran sudo. */
export function operatorName(env: Record<string, string | undefined> = process.env): string {
  if (env.SUDO_USER) return env.SUDO_USER;
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? 'unknown'}`;
  }
}

function parseLine(line: string): HistoryEntry | null {
  if (!line.trim()) return null;
  try {
    const value = JSON.parse(line) as HistoryEntry;
    return typeof value === 'object' && value !== null && typeof value.at === 'string' && typeof value.action === 'string' ? value : null;
  } catch {
    return null;
  }
}
