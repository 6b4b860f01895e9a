import { readdirSync, readFileSync } from 'node:fs';

/**
 * Watches the command lines of a process and all its descendants (found through the parent
 * pid in `/proc/<pid>/stat`), as every local user could with `ps`: for the tests that no secret
 * is ever on a command line.
 */
export interface ArgvWatch {
  /** Every distinct command line seen (arguments joined by spaces). */
  seen(): string[];
  /** Stops polling; returns what `seen` returns. */
  stop(): string[];
}

/** Polls every `intervalMs` until stopped. */
export function watchArgv(rootPid: number, intervalMs = 15): ArgvWatch {
  const seen = new Set<string>();
  const poll = () => {
    for (const pid of descendants(rootPid)) {
      const argv = readArgv(pid);
      if (argv) seen.add(argv);
    }
  };
  poll();
  const timer = setInterval(poll, intervalMs);
  return {
    seen: () => [...seen],
    stop() {
      clearInterval(timer);
      poll();
      return [...seen];
    },
  };
}

/** `root` and every process below it, right now. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = parentOf(Number(name));
    if (ppid === undefined) continue;
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so split after the last `)`.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return undefined; // exited between the listing and the read
  }
}

function readArgv(pid: number): string | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    return raw ? raw.replace(/\0+$/, '').split('\0').join(' ') : undefined;
  } catch {
    return undefined;
  }
}
