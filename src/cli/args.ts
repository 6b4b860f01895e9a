import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { nearestName } from '../util/did-you-mean.js';

/** Subcommands; anything else in first position is a REMOTE (use `./status` for a path). */
export const subcommands = ['run', 'status', 'releases', 'check-config', 'rollback', 'resume', 'check', 'retry', 'fleet', 'demo', 'history'] as const;

/** Subcommands whose single positional may name an app (`rollback web`). */
export const appCommands: readonly Subcommand[] = ['status', 'releases', 'rollback', 'resume', 'check', 'retry', 'history'];
export type Subcommand = (typeof subcommands)[number];

/** The command line, parsed. */
export interface ParsedArgs {
  command: Subcommand;
  /** Config values given as flags or positionals, by config key (`remote`, `local`, `cache`, …). */
  flags: Record<string, string>;
  config?: string;
  fetch: boolean;
  verbose: boolean;
  help: boolean;
  version: boolean;
  json: boolean;
  dryRun: boolean;
  /** `--dry-run=fetch`: the dry run also fetches and checks the version, then discards it. */
  dryRunFetch?: boolean;
  /** `check --no-wait`: signal the daemon and return without waiting for the outcome. */
  noWait: boolean;
  /** `rollback --to RELEASE`. */
  to?: string;
  /** Positionals as given (after the subcommand), before they became REMOTE and LOCAL. */
  positionals: string[];
}

/** Options that take a value, mapped to the config key they set (or a field of ParsedArgs). */
const valued: Record<string, string> = {
  '-c': 'config', '--config': 'config',
  '--cache': 'cache',
  '--pre-hooks': 'pre-hooks',
  '--post-hooks': 'post-hooks',
  '-i': 'id', '--id': 'id',
  '-d': 'directory', '--directory': 'directory',
  '-r': 'remote', '--remote': 'remote',
  '-l': 'local', '--local': 'local',
  '--to': 'to',
  '--log-format': 'log-format',
};
const switches: Record<string, keyof ParsedArgs> = {
  '-f': 'fetch', '--fetch': 'fetch',
  '-v': 'verbose', '--verbose': 'verbose',
  '-h': 'help', '--help': 'help',
  '--version': 'version',
  '--json': 'json',
  '--dry-run': 'dryRun', '-n': 'dryRun',
  '--no-wait': 'noWait',
};

/**
 * Parses `argv` (without node and script). Throws `UsageError` naming the bad argument. `cwd`
 * tells a REMOTE that is an existing path from a mistyped subcommand.
 */
export function parseArgs(argv: readonly string[], cwd = process.cwd()): ParsedArgs {
  const out: ParsedArgs = { command: 'run', flags: {}, fetch: false, verbose: false, help: false, version: false, json: false, dryRun: false, noWait: false, positionals: [] };
  const positionals: string[] = [];
  const args = [...argv];
  let onlyPositionals = false;
  while (args.length) {
    let arg = args.shift()!;
    if (onlyPositionals || arg === '-' || !arg.startsWith('-')) {
      positionals.push(arg);
      continue;
    }
    if (arg === '--') {
      onlyPositionals = true;
      continue;
    }
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    } else if (/^-[a-zA-Z]./.test(arg)) {
      // Bundled short options: `-fv`, or `-cFILE`.
      const first = `-${arg[1]}`;
      if (valued[first]) {
        inline = arg.slice(2);
      } else if (!/^-[a-zA-Z]+$/.test(arg)) {
        throw new UsageError(`invalid flag: ${arg} (see repo-deploy --help)`);
      } else {
        args.unshift(...arg.slice(2).split('').map((c) => `-${c}`));
      }
      arg = first;
    }
    const key = valued[arg];
    if (key) {
      const value = inline ?? args.shift();
      if (value === undefined || value === '') throw new UsageError(`invalid flag: ${arg} needs a value`);
      if (key === 'config') out.config = value;
      else if (key === 'to') out.to = value;
      else out.flags[key] = value;
      continue;
    }
    if (arg === '--dry-run' && inline === 'fetch') {
      out.dryRun = out.dryRunFetch = true;
      continue;
    }
    const field = switches[arg];
    if (!field || inline !== undefined) throw new UsageError(`invalid flag: ${arg}${inline !== undefined ? '=…' : ''} (see repo-deploy --help)`);
    (out[field] as boolean) = true;
  }
  return withPositionals(out, positionals, cwd);
}

/** Takes the subcommand, then REMOTE and LOCAL, from the positionals. */
function withPositionals(out: ParsedArgs, positionals: string[], cwd: string): ParsedArgs {
  if (positionals.length && (subcommands as readonly string[]).includes(positionals[0]!)) {
    out.command = positionals.shift() as Subcommand;
  }
  out.positionals = [...positionals];
  // `fleet status [APP]`, `fleet clear VERSION [APP]`: words, not REMOTE and LOCAL.
  if (out.command === 'fleet') return out;
  if (positionals.length > 2) throw new UsageError(`invalid arguments: expected at most REMOTE and LOCAL, got ${positionals.length} (${positionals.slice(2).join(' ')})`);
  const [remote, local] = positionals;
  if (remote !== undefined) {
    if (out.flags.remote !== undefined) throw new UsageError('invalid arguments: REMOTE given both as a positional and with -r/--remote');
    if (out.command === 'run' && isBareWord(remote) && !existsSync(resolve(cwd, remote))) throw unknownCommand(remote);
    out.flags.remote = remote;
  }
  if (local !== undefined) {
    if (out.flags.local !== undefined) throw new UsageError('invalid arguments: LOCAL given both as a positional and with -l/--local');
    out.flags.local = local;
  }
  return out;
}

/**
 * A word that could be a subcommand or an app name (letters, digits, - and _), not a URL or a
 * path (`./stauts`, `app.zip`, `/srv/app`): as REMOTE it would deploy from a made-up directory.
 */
export function isBareWord(word: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(word);
}

function unknownCommand(word: string): UsageError {
  const near = nearestName(word, subcommands);
  return new UsageError(
    `unknown command: ${word}${near ? ` (did you mean ${near}?)` : ''}; commands are ${subcommands.join(', ')} (see repo-deploy --help); a local directory as REMOTE is written ./${word}`,
  );
}
