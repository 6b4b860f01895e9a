import { pino, type Logger, type DestinationStream } from 'pino';
import { prettyDestination } from './log-pretty.js';

export type { Logger } from 'pino';

/** Options for `createLogger`. */
export interface LoggerOptions {
  /** Debug logging (`-v`). */
  verbose?: boolean;
  /** Where JSON lines go; default: standard error, so command output on stdout stays clean. */
  destination?: DestinationStream;
  /**
   * `json` (one object a line, for journald and log shippers) or `pretty` (for people, through
   * pino-pretty); default: see `defaultLogFormat`. Ignored when `destination` is given.
   */
  format?: LogFormat;
}

/** How log lines are written. */
export type LogFormat = 'json' | 'pretty';

/**
 * JSON unless standard error is a terminal: an operator running a command reads the lines,
 * while under systemd, cron or a pipe something else parses them.
 */
export function defaultLogFormat(stream: { isTTY?: boolean } = process.stderr): LogFormat {
  return stream.isTTY ? 'pretty' : 'json';
}

function destinationOf(options: LoggerOptions): DestinationStream {
  if (options.destination) return options.destination;
  if ((options.format ?? defaultLogFormat()) === 'json') return pino.destination({ fd: 2, sync: true });
  // Colour only on a terminal that did not ask for none (https://no-color.org).
  return prettyDestination({ colorize: Boolean(process.stderr.isTTY) && !process.env.NO_COLOR });
}

/**
 * The agent's pino logger: JSON lines or readable ones (`format`), lower-case messages,
 * camelCase keys. Every line is later bound to an app (and a version when known) with
 * `logger.child`.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: 'repo-deploy',
      level: options.verbose ? 'debug' : 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Belt and braces: credentials are stripped where URLs are built, and these keys are
      // never printed whatever a caller passes.
      redact: { paths: ['awsSecretKey', 'awsAccessKey', 'password', 'secret', '*.awsSecretKey', '*.password'], censor: '***' },
    },
    destinationOf(options),
  );
}

/** A logger that drops everything: the library default when the caller passes none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
