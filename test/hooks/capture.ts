import { createLogger, type Logger } from '../../src/log.js';

/** One parsed pino line. */
export type LogEntry = Record<string, unknown> & { level: string; msg: string };

/**
 * A real pino logger (the agent's own configuration, debug level) writing into memory, so
 * tests can assert on exactly the JSON lines an operator would see.
 */
export function captureLogger(onEntry?: (entry: LogEntry) => void): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const logger = createLogger({
    verbose: true,
    destination: {
      write(line: string) {
        const entry = JSON.parse(line) as LogEntry;
        entries.push(entry);
        onEntry?.(entry);
      },
    },
  });
  return { logger, entries };
}
