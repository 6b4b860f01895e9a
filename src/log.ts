import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Options for `createLogger`. */
export interface LoggerOptions {
  /** Debug logging (`-v`). */
  verbose?: boolean;
  /** Where JSON lines go; default: standard error, so command output on stdout stays clean. */
  destination?: DestinationStream;
}

/**
 * The agent's pino logger: JSON lines, lower-case messages, camelCase keys. Every line is later
 * bound to an app (and a version when known) with `logger.child`.
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
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything: the library default when the caller passes none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
