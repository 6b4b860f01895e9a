import type { RolloutStatus, WaitReason } from '../fleet/rollout-types.js';
import type { AgentRecord, FleetStatus } from '../fleet/types.js';

/**
 * The text of `repo-deploy fleet status`: agents (cron agents stay listed after they exit, with
 * their last check), pause, slots, quarantined versions, and for the newest versions their
 * wave, hosts confirmed / in flight / failed, and why the other hosts wait.
 */
export function renderFleetStatus(group: string, maxParallel: number, status: FleetStatus, now = Date.now()): string {
  const lines = [`group ${group} (max-parallel ${maxParallel})`];
  if (status.paused) lines.push(`paused by ${status.paused.by} at ${status.paused.time}: no host starts a new version (repo-deploy fleet resume ${group})`);
  lines.push('agents:');
  for (const a of status.agents) lines.push(agentLine(a, now));
  if (status.agents.length === 0) lines.push('  none registered');
  lines.push('slots:');
  for (const s of status.slots) lines.push(`  ${s.index}  ${s.host}  ${s.version}  since ${s.since}`);
  if (status.slots.length === 0) lines.push('  all free');
  lines.push('quarantined versions:');
  for (const q of status.quarantined) lines.push(`  ${q.version}  by ${q.host} at ${q.time}: ${q.reason}`);
  if (status.quarantined.length === 0) lines.push('  none');
  lines.push('rollouts (newest first):');
  for (const r of status.rollouts) lines.push(...rolloutLines(r));
  if (status.rollouts.length === 0) lines.push('  none yet');
  return lines.join('\n');
}

function agentLine(a: AgentRecord, now: number): string {
  const seen = Date.parse(a.updatedAt);
  const ago = Number.isFinite(seen) ? `, reported ${duration(now - seen)} ago` : '';
  const back = a.rolledBack ? `  rolled back from ${a.rolledBack.version} (quarantined by ${a.rolledBack.by}: ${a.rolledBack.reason})` : '';
  return `  ${a.id}  ${a.version ?? '-'}  ${a.result}  last check ${a.lastCheckAt}${ago}${back}`;
}

function rolloutLines(r: RolloutStatus): string[] {
  const limit = r.waveLimit === null ? 'all hosts' : `${r.waveLimit} host${r.waveLimit === 1 ? '' : 's'}`;
  const lines = [
    `  ${r.version}  wave ${r.wave} of ${r.waveCount} (${r.waves}; up to ${limit})  ` +
      `confirmed ${r.confirmed}, in flight ${r.inFlight}, failed ${r.failed}, waiting ${r.waiting}${r.waiting > 0 || r.waitReason === 'quarantined' ? `: ${reasonText(r.waitReason, r)}` : ''}`,
  ];
  for (const h of r.hosts) lines.push(`    ${h.place}. ${h.host}  ${h.state}  admitted ${h.admittedAt}${h.settledAt ? `, settled ${h.settledAt}` : ''}`);
  return lines;
}

/** Why the hosts not admitted wait, in words. */
function reasonText(reason: WaitReason, r: RolloutStatus): string {
  switch (reason) {
    case 'quarantined':
      return 'quarantined, no host starts it';
    case 'paused':
      return 'group paused';
    case 'wave':
      return `wave ${r.wave} not complete (${r.confirmed} of ${r.waveLimit ?? 'all'} confirmed)`;
    case 'max-parallel':
      return 'max-parallel full';
    case 'next-check':
      return 'until their next check';
    case 'none':
      return 'none';
  }
}

/** `42s`, `5m`, `3h`, `2d`. */
function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}
