import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { runDemo } from './cli/demo.js';
import { runFleetCommand } from './cli/fleet.js';
import { commandHelp, mainHelp } from './cli/help.js';
import { appCommands, isBareWord, parseArgs, type ParsedArgs } from './cli/args.js';
import { claimApps, removePidFiles, requestCheck, waitForChecks, writePidFiles } from './cli/daemon-pid.js';
import type { AppConfig } from './config/types.js';
import { checkLayout } from './pipeline/layout.js';
import { processAlive } from './util/process-alive.js';
import { observedResume, observedRollback } from './cli/operator.js';
import { drainNotifications } from './notify/index.js';
import { formatHistory, operatorName, readHistory } from './history/index.js';
import { packageVersion } from './util/package-version.js';
import { formatOutcome, formatReleases, formatStatus } from './cli/format.js';
import { loadConfig, type LoadedConfig } from './config/load.js';
import { ExitCode, LockBusyError, UsageError, exitCodeOf, messageOf } from './errors.js';
import { forgottenHooks } from './hooks/list.js';
import { createLogger, type Logger } from './log.js';
import { nearestName } from './util/did-you-mean.js';
import { checkOnce, exitCodeOfOutcome, exitCodeOfResult, type CheckOutcome } from './pipeline/check.js';
import { readStatus } from './status.js';
import type { AgentMetrics } from './metrics/registry.js';
import type { HealthTracker } from './metrics/health.js';
import type { MetricsServer } from './metrics/server.js';
import type { StatusPage } from './metrics/status-data.js';

/** Where the CLI writes; injectable so tests can run it in-process. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
}

/** How long operator commands (`retry`) wait for a check in progress to end. */
const operatorLockWaitMs = 30_000;

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(`${t}\n`),
  stderr: (t) => process.stderr.write(`${t}\n`),
  env: process.env,
  cwd: process.cwd(),
};

/**
 * The command line: turns arguments into options, calls the library, prints, and returns the
 * exit code. `main` (below) is the only place that exits the process.
 */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, io.cwd);
  } catch (error) {
    io.stderr(`repo-deploy: ${messageOf(error)}`);
    return exitCodeOf(error);
  }
  if (args.help) {
    io.stdout(commandHelp[args.command] ?? mainHelp);
    return ExitCode.ok;
  }
  if (args.version) {
    io.stdout(`repo-deploy ${packageVersion()}`);
    return ExitCode.ok;
  }
  if (args.command === 'demo') return runDemo(args.flags.remote, io.cwd, io.stdout);
  let config: LoadedConfig;
  let load: () => LoadedConfig;
  let apps;
  try {
    ({ config, load, apps } = loadForCommand(args, io));
  } catch (error) {
    io.stderr(`repo-deploy: ${messageOf(error)}`);
    return exitCodeOf(error);
  }
  const logFormat = apps[0]?.logFormat;
  const logger = createLogger({ verbose: args.verbose, ...(logFormat ? { format: logFormat } : {}) });
  for (const warning of config.warnings) io.stderr(`repo-deploy: warning: ${warning}`);

  switch (args.command) {
    case 'check-config':
      return checkConfig(config, apps, io);
    case 'status':
    case 'releases':
      return showStatus(args, apps, io);
    case 'history':
      return showHistory(args, apps, io);
    case 'rollback':
    case 'resume':
    case 'check':
      return operate(args, apps, logger, io);
    case 'retry':
      // Like -f, but a version that is backing off is tried now, and a check in progress is
      // waited for rather than reported busy.
      return fetchOnce(apps, args, logger, io, { retry: true, lockWaitMs: operatorLockWaitMs });
    case 'fleet':
      try {
        return await runFleetCommand(args.positionals, apps, args.json, logger, io.stdout);
      } catch (error) {
        io.stderr(`repo-deploy: ${messageOf(error)}`);
        return exitCodeOf(error);
      }
    case 'run':
      if (args.fetch || args.dryRun) return fetchOnce(apps, args, logger, io);
      return daemon(load, logger);
  }
}

/** `history`: each app's entries, newest first, as a table or JSON. */
async function showHistory(args: ParsedArgs, apps: AppConfig[], io: CliIo): Promise<number> {
  const histories = await Promise.all(apps.map(async (a) => ({ app: a.name, entries: await readHistory(a.deployDir) })));
  io.stdout(args.json ? JSON.stringify(histories, null, 2) : formatHistory(histories));
  return ExitCode.ok;
}

/** `check-config`: the configuration loaded (by the caller), then what only the disk can tell. */
async function checkConfig(config: LoadedConfig, apps: AppConfig[], io: CliIo): Promise<number> {
  try {
    // Links that would share a releases directory are a config error, as at run time.
    for (const app of apps) await checkLayout(app);
  } catch (error) {
    io.stderr(`repo-deploy: ${messageOf(error)}`);
    return exitCodeOf(error);
  }
  io.stdout(`configuration OK${config.file ? ` (${config.file})` : ''}: ${apps.map((a) => `${a.name} -> ${a.local}`).join(', ')}`);
  for (const warning of await forgottenHooks(apps)) io.stderr(`repo-deploy: warning: ${warning}`);
  return ExitCode.ok;
}

/** `status` and `releases`, as text or JSON. */
async function showStatus(args: ParsedArgs, apps: AppConfig[], io: CliIo): Promise<number> {
  const statuses = await readStatus(apps);
  if (args.json) io.stdout(JSON.stringify(args.command === 'status' ? statuses : statuses.map((s) => ({ app: s.app, releases: s.releases, current: s.current?.id, previous: s.previous?.id })), null, 2));
  else io.stdout(args.command === 'status' ? formatStatus(statuses) : formatReleases(statuses));
  return ExitCode.ok;
}

/**
 * Loads the configuration for a command. For commands that act on one app, a single
 * positional that names a configured app selects it (`rollback web`); otherwise positionals
 * are REMOTE and LOCAL as for a run.
 */
function loadForCommand(args: ParsedArgs, io: CliIo): { config: LoadedConfig; load: () => LoadedConfig; apps: AppConfig[] } {
  const base = { ...(args.config ? { configFile: args.config } : {}), env: io.env, cwd: io.cwd };
  if (appCommands.includes(args.command) && args.positionals.length === 1) {
    const { remote: _named, ...flags } = args.flags;
    const name = args.positionals[0]!;
    let config: LoadedConfig | Error;
    try {
      config = loadConfig({ ...base, flags });
    } catch (error) {
      config = error as Error;
    }
    const app = config instanceof Error ? undefined : config.apps.find((a) => a.name === name);
    if (app) return { config: config as LoadedConfig, load: () => loadConfig({ ...base, flags }), apps: [app] };
    // A bare word that is no app and no path is a mistyped app name: read as REMOTE it would
    // show or act on a made-up default app. Anything else is read as REMOTE below.
    if (isBareWord(name) && !existsSync(resolve(io.cwd, name))) throw unknownApp(name, config);
  }
  const load = () => loadConfig({ ...base, flags: args.flags });
  const config = load();
  if (['rollback', 'resume'].includes(args.command) && config.apps.length > 1) {
    throw new UsageError(`${args.command} needs an app name: one of ${config.apps.map((a) => a.name).join(', ')}`);
  }
  return { config, load, apps: config.apps };
}

function unknownApp(name: string, config: LoadedConfig | Error): UsageError {
  const where = 'a local directory as REMOTE is written ./' + name;
  if (config instanceof Error) return new UsageError(`unknown app: ${name}: no app is configured (${messageOf(config)}); ${where}`);
  const names = config.apps.map((a) => (a.name === 'default' ? 'default (the top-level keys)' : a.name));
  const near = nearestName(name, config.apps.map((a) => a.name));
  return new UsageError(`unknown app: ${name}${near ? ` (did you mean ${near}?)` : ''}; ${config.file ?? 'the configuration'} configures ${names.join(', ')}; ${where}`);
}

/** `rollback`, `resume` and `check`: act on one app (or ask the daemon to check). */
async function operate(args: ParsedArgs, apps: AppConfig[], logger: Logger, io: CliIo): Promise<number> {
  const app = apps[0]!;
  if (args.command === 'check') {
    const since = new Date();
    const asked = await requestCheck(apps);
    if (args.noWait) {
      io.stdout(`asked the daemon (pid ${asked.join(', ')}) to check now`);
      return ExitCode.ok;
    }
    return reportChecks(apps, since, asked, io);
  }
  if (args.command === 'resume') {
    const held = await observedResume(app, logger, io.env);
    io.stdout(held ? `${app.name}: resumed; the next check deploys the remote's version` : `${app.name}: was not held`);
    return ExitCode.ok;
  }
  const result = await observedRollback(app, logger, args.to, io.env);
  if (result instanceof Error) {
    io.stderr(`repo-deploy: ${messageOf(result)}`);
    return exitCodeOf(result);
  }
  if (result.result !== 'deployed') {
    io.stderr(`repo-deploy: ${app.name}: rollback stopped before the swap; nothing changed`);
    return ExitCode.failed;
  }
  io.stdout(`${app.name}: rolled back to release ${result.releaseId}${result.from ? ` (from ${result.from})` : ''}; held until the remote's version changes or \`repo-deploy resume${app.name === 'default' ? '' : ` ${app.name}`}\``);
  return ExitCode.ok;
}

/**
 * `check`: waits for the daemon to finish the check it was asked for (or the one it was
 * running), prints each outcome as `-f` does and exits with `-f`'s codes.
 */
async function reportChecks(apps: AppConfig[], since: Date, asked: number[], io: CliIo): Promise<number> {
  // A check may deploy: room for a download and both hook phases.
  const timeoutMs = Math.max(...apps.map((a) => 2 * a.hookTimeoutMs + a.readTimeoutMs)) + 60_000;
  const records = await waitForChecks(apps, since, timeoutMs, asked);
  let code: number = ExitCode.ok;
  for (const [i, app] of apps.entries()) {
    const record = records[i];
    if (!record) {
      const gone = !asked.some(processAlive);
      io.stderr(`repo-deploy: ${app.name}: the daemon (pid ${asked.join(', ')}) ${gone ? 'exited before it finished the check' : `did not finish a check within ${Math.round(timeoutMs / 1000)} s`}; see repo-deploy status`);
      code = ExitCode.busy;
      continue;
    }
    const outcome: CheckOutcome = { app: app.name, result: record.result, ...(record.version ? { version: record.version } : {}), ...(record.releaseId ? { releaseId: record.releaseId } : {}), ...(record.error ? { error: new Error(record.error) } : {}) };
    const exit = exitCodeOfResult(record.result);
    const line = formatOutcome(outcome);
    if (exit === ExitCode.ok) io.stdout(line);
    else io.stderr(`repo-deploy: ${line}`);
    if (exit !== ExitCode.ok && code !== ExitCode.failed) code = exit;
  }
  return code;
}

async function fetchOnce(apps: AppConfig[], args: ParsedArgs, logger: Logger, io: CliIo, extra: { retry?: boolean; lockWaitMs?: number } = {}): Promise<number> {
  const stop = stopSignal(logger);
  const outcomes = await Promise.all(
    apps.map(async (app): Promise<CheckOutcome | LockBusyError> => {
      try {
        return await checkOnce({ app, logger, signal: stop.signal, dryRun: args.dryRun, ...(args.dryRunFetch ? { dryRunFetch: true } : {}), ...(extra.retry ? { operator: operatorName(io.env) } : {}), ...extra });
      } catch (error) {
        if (error instanceof LockBusyError) return error;
        throw error;
      }
    }),
  );
  stop.dispose();
  let code: number = ExitCode.ok;
  for (const outcome of outcomes) {
    if (outcome instanceof LockBusyError) {
      io.stderr(`repo-deploy: ${outcome.message}`);
      if (code === ExitCode.ok) code = ExitCode.busy;
      continue;
    }
    const line = formatOutcome(outcome);
    const exit = exitCodeOfOutcome(outcome);
    if (exit === ExitCode.ok) io.stdout(line);
    else io.stderr(`repo-deploy: ${line}`);
    if (exit !== ExitCode.ok && code !== ExitCode.failed) code = exit;
  }
  // Bounded (see exitDrainMs): a dead receiver never holds a one-shot run for long.
  await drainNotifications();
  return code;
}

async function daemon(load: () => LoadedConfig, logger: Logger): Promise<number> {
  const stop = stopSignal(logger);
  const initial = load();
  const listen = initial.apps[0]?.listen;
  // Loaded here, not at the top: a `-f` run from a timer never pays for the daemon's modules,
  // nor a run without `listen` for the metrics (prom-client, ~40 ms of start-up).
  // Before anything else: a second daemon for one of these apps must not start checking.
  const claims = await claimApps(initial.apps);
  const { startDaemon } = await import('./daemon/daemon.js');
  const observed = listen ? await startObserving(listen, initial.apps, logger) : undefined;
  const { metrics, health, server, page } = observed ?? {};
  const daemon = startDaemon({
    loadConfig: () => {
      const config = load();
      health?.setApps(config.apps.map((a) => ({ name: a.name, schedule: a.schedule })));
      page?.setApps(config.apps);
      return config;
    },
    logger,
    signal: stop.signal,
    ...(metrics && health
      ? {
          onOutcome: (o: CheckOutcome) => {
            metrics.observe(o);
            health.record(o);
          },
          events: {
            onHooks: (app, phase, runs) => runs.forEach((r) => metrics.observeHook(app, phase, r.durationMs)),
            onDownload: (app, ms, bytes, reused) => metrics.observeDownload(app, ms, bytes, reused),
          },
        }
      : {}),
  });
  const onHup = () => daemon.reload();
  const onUsr1 = () => daemon.checkNow();
  process.on('SIGHUP', onHup);
  // Before the pid files exist: `check` may signal as soon as it finds one, and SIGUSR1's
  // default action would end the daemon.
  process.on('SIGUSR1', onUsr1);
  const pidFiles = await writePidFiles(initial.apps);
  await daemon.done;
  process.off('SIGHUP', onHup);
  process.off('SIGUSR1', onUsr1);
  await server?.close();
  await removePidFiles(pidFiles);
  await Promise.all(claims.map((c) => c.release()));
  stop.dispose();
  return ExitCode.ok;
}

/** The metrics and health listener of the daemon (`listen`), seeded from the apps' state. */
async function startObserving(listen: string, apps: AppConfig[], logger: Logger): Promise<{ metrics: AgentMetrics; health: HealthTracker; server: MetricsServer; page: StatusPage }> {
  const [{ AgentMetrics }, { HealthTracker }, { startMetricsServer }, { createStatusPage }] = await Promise.all([import('./metrics/registry.js'), import('./metrics/health.js'), import('./metrics/server.js'), import('./metrics/status-data.js')]);
  const metrics = new AgentMetrics();
  const health = new HealthTracker(apps.map((a) => ({ name: a.name, schedule: a.schedule })));
  for (const status of await readStatus(apps)) metrics.seed(status);
  const page = createStatusPage({ apps, logger });
  const server = await startMetricsServer({ listen, metrics, health: () => health.report(), logger, statusPage: () => page.render() });
  logger.info({ address: server.address }, 'health and metrics listening');
  return { metrics, health, server, page };
}

/** SIGTERM / SIGINT abort the run; a second one exits at once. */
function stopSignal(logger: Logger): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      logger.warn({ signal: name }, 'second stop signal, exiting now');
      process.exit(130);
    }
    logger.info({ signal: name }, 'stopping at the next safe point');
    controller.abort(new Error(`stopped by ${name}`));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}

/** Entry point of `bin/repo-deploy`. */
export async function main(): Promise<never> {
  // The AWS SDK prints a multi-line, non-JSON warning about Node 20 to stderr, which would
  // break journald's JSON lines; the supported-versions question is ours, not the operator's.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let code: number;
  try {
    code = await runCli(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`repo-deploy: ${error instanceof Error && process.argv.includes('-v') ? error.stack : messageOf(error)}\n`);
    code = exitCodeOf(error);
  }
  // Let pino's synchronous destination and stdout drain before leaving.
  process.exitCode = code;
  process.exit(code);
}
