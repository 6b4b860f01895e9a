/**
 * repo-deploy as a library: everything the CLI does, with no global state — configuration
 * passed in, logger injectable, an AbortSignal to stop, typed errors exported.
 */
export { loadConfig, defaultPaths, type ConfigInputs, type LoadedConfig } from './config/load.js';
export type { AppConfig, Limits, VerifyConfig } from './config/types.js';
export { checkOnce, exitCodeOfOutcome, type CheckOptions, type CheckOutcome } from './pipeline/check.js';
export type { CheckResult, AppState, ReleaseRecord } from './pipeline/state.js';
export { startDaemon, type Daemon, type DaemonOptions } from './daemon/daemon.js';
export { readStatus, type AppStatus, type ReleaseInfo } from './status.js';
export { createRemote, remoteKinds, type Remote, type RemoteKind, type Observation, type FetchResult } from './remotes/index.js';
export { createLogger, silentLogger, type Logger, type LoggerOptions } from './log.js';
export {
  ExitCode,
  RepoDeployError,
  ConfigError,
  UsageError,
  RemoteError,
  VerificationError,
  HookError,
  LockBusyError,
  UpdateFailedError,
  type ConfigIssue,
} from './errors.js';
export { runCli } from './cli.js';
