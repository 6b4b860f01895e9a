import type { AppConfig } from '../config/types.js';
import { ExitCode, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { openFleet } from '../fleet/coordinator.js';
import { renderFleetStatus } from './fleet-status.js';

const usage = 'usage: repo-deploy fleet status [APP] | fleet clear VERSION [APP] | fleet pause [GROUP] | fleet resume [GROUP]';

/**
 * `repo-deploy fleet status [APP]`, `fleet clear VERSION [APP]`, `fleet pause [GROUP]` and
 * `fleet resume [GROUP]`: what the fleet of an app's rollout group looks like in etcd, lifting
 * a quarantine, and stopping or restarting the start of new versions in a group.
 */
export async function runFleetCommand(
  words: readonly string[],
  apps: readonly AppConfig[],
  json: boolean,
  logger: Logger,
  print: (text: string) => void,
): Promise<number> {
  const [action, ...rest] = words;
  if (action !== 'status' && action !== 'clear' && action !== 'pause' && action !== 'resume') throw new UsageError(usage);
  const version = action === 'clear' ? rest.shift() : undefined;
  if (action === 'clear' && !version) throw new UsageError('fleet clear needs the VERSION to lift the quarantine of (see repo-deploy fleet status)');
  const app = action === 'pause' || action === 'resume' ? appOfGroup(apps, rest[0]) : appNamed(apps, rest[0]);
  const fleet = await openFleet(app, logger);
  if (!fleet) throw new UsageError(`app ${app.name} has no etcd configured: set etcd = http://HOST:2379`);
  const group = app.rollout!.group;
  try {
    if (action === 'pause') {
      const record = await fleet.pause();
      print(`${group}: paused by ${record.by} at ${record.time}; hosts in flight finish, no host starts a new version until repo-deploy fleet resume ${group}`);
      return ExitCode.ok;
    }
    if (action === 'resume') {
      print((await fleet.resume()) ? `${group}: resumed; hosts start new versions at their next check` : `${group}: was not paused`);
      return ExitCode.ok;
    }
    if (version) {
      const cleared = await fleet.clear(version);
      print(cleared ? `${group}: quarantine of ${version} lifted` : `${group}: ${version} was not quarantined`);
      return ExitCode.ok;
    }
    const status = await fleet.status();
    print(json ? JSON.stringify({ group, ...status }, null, 2) : renderFleetStatus(group, app.rollout!.maxParallel, status));
    return ExitCode.ok;
  } finally {
    await fleet.close();
  }
}

/** The app named `name`, or without a name the first app with etcd. */
function appNamed(apps: readonly AppConfig[], name: string | undefined): AppConfig {
  const app = name ? apps.find((a) => a.name === name) : apps.find((a) => a.rollout);
  if (!app) throw new UsageError(name ? `no app ${name} in the configuration` : 'no app has etcd configured: set etcd = http://HOST:2379');
  return app;
}

/**
 * The app whose rollout group is `group` (or, for compatibility with the other fleet commands,
 * the app named so); without one, the first app with etcd. A group no app of this host is in
 * is reached through the first app's etcd settings.
 */
function appOfGroup(apps: readonly AppConfig[], group: string | undefined): AppConfig {
  const withEtcd = apps.filter((a) => a.rollout);
  const first = withEtcd[0];
  if (!first) throw new UsageError('no app has etcd configured: set etcd = http://HOST:2379');
  if (!group) return first;
  const app = withEtcd.find((a) => a.rollout!.group === group) ?? withEtcd.find((a) => a.name === group);
  return app ?? { ...first, rollout: { ...first.rollout!, group } };
}
