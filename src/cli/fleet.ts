import type { AppConfig } from '../config/types.js';
import { ExitCode, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { openFleet } from '../fleet/coordinator.js';

/**
 * `repo-deploy fleet status [APP]` and `repo-deploy fleet clear VERSION [APP]`: what the
 * fleet of an app's rollout group looks like in etcd, and lifting a quarantine.
 */
export async function runFleetCommand(
  words: readonly string[],
  apps: readonly AppConfig[],
  json: boolean,
  logger: Logger,
  print: (text: string) => void,
): Promise<number> {
  const [action, ...rest] = words;
  if (action !== 'status' && action !== 'clear') throw new UsageError('usage: repo-deploy fleet status [APP] | fleet clear VERSION [APP]');
  const version = action === 'clear' ? rest.shift() : undefined;
  if (action === 'clear' && !version) throw new UsageError('fleet clear needs the VERSION to lift the quarantine of (see repo-deploy fleet status)');
  const name = rest[0];
  const app = name ? apps.find((a) => a.name === name) : apps.find((a) => a.rollout);
  if (!app) throw new UsageError(name ? `no app ${name} in the configuration` : 'no app has etcd configured: set etcd = http://HOST:2379');
  const fleet = await openFleet(app, logger);
  if (!fleet) throw new UsageError(`app ${app.name} has no etcd configured: set etcd = http://HOST:2379`);
  try {
    if (version) {
      const cleared = await fleet.clear(version);
      print(cleared ? `${app.rollout!.group}: quarantine of ${version} lifted` : `${app.rollout!.group}: ${version} was not quarantined`);
      return ExitCode.ok;
    }
    const status = await fleet.status();
    if (json) {
      print(JSON.stringify({ group: app.rollout!.group, ...status }, null, 2));
      return ExitCode.ok;
    }
    const lines = [`group ${app.rollout!.group} (max-parallel ${app.rollout!.maxParallel})`, 'agents:'];
    for (const a of status.agents) lines.push(`  ${a.id}  ${a.version ?? '-'}  ${a.result}  last check ${a.lastCheckAt}`);
    if (status.agents.length === 0) lines.push('  none registered');
    lines.push('slots:');
    for (const s of status.slots) lines.push(`  ${s.index}  ${s.host}  ${s.version}  since ${s.since}`);
    if (status.slots.length === 0) lines.push('  all free');
    lines.push('quarantined versions:');
    for (const q of status.quarantined) lines.push(`  ${q.version}  by ${q.host} at ${q.time}: ${q.reason}`);
    if (status.quarantined.length === 0) lines.push('  none');
    print(lines.join('\n'));
    return ExitCode.ok;
  } finally {
    await fleet.close();
  }
}
