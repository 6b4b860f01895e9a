/**
 * Rollout waves: the arithmetic of who may enter a rollout, with no etcd in it (the config
 * loader imports the parser, and hosts without a fleet must not load the etcd client).
 *
 * `rollout-waves = 1, 10%, 100%` lists cumulative sizes: host counts, or percentages of the
 * group's registered agents (rounded up). A version's hosts are admitted in order; the n-th
 * host admitted belongs to the first wave whose size is at least n. A wave opens when every
 * host of the waves before it has confirmed, so the canary wave must confirm before anyone else
 * starts. The last wave is always unbounded: a list not ending in `100%` gets it implicitly,
 * and hosts that registered after the sizes were computed are never locked out.
 */

/** One cumulative wave size: a host count or a percentage of the registered agents. */
export type WaveStep = { count: number } | { percent: number };

/** The default: one wave of every host, today's rolling update bounded by `max-parallel` alone. */
export const defaultWaves: readonly WaveStep[] = [{ percent: 100 }];

/** Parses `1, 10%, 100%`; the error says what is accepted. */
export function parseWaves(text: string): WaveStep[] | { error: string } {
  const accepted = 'comma-separated cumulative wave sizes, host counts or percentages, e.g. 1, 10%, 100%';
  const parts = text.split(',').map((part) => part.trim());
  if (parts.length === 0 || parts.some((part) => part === '')) return { error: accepted };
  const steps: WaveStep[] = [];
  for (const part of parts) {
    const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(part);
    if (!m) return { error: `${part} is not a host count or a percentage; expected ${accepted}` };
    const n = Number(m[1]);
    if (m[2] === '%' ? n <= 0 || n > 100 : !Number.isInteger(n) || n < 1) {
      return { error: `${part}: a count is a whole number of at least 1, a percentage is above 0% and at most 100%` };
    }
    steps.push(m[2] === '%' ? { percent: n } : { count: n });
  }
  return steps;
}

/** `1, 10%, 100%`: the steps written back as in the config (also stored with each rollout). */
export function formatWaves(steps: readonly WaveStep[]): string {
  return steps.map((s) => ('count' in s ? String(s.count) : `${s.percent}%`)).join(', ');
}

/**
 * The cumulative host limit of each wave for `registered` agents: percentages rounded up,
 * every wave at least 1 and at least the one before, the last one `Infinity`.
 */
export function waveLimits(steps: readonly WaveStep[], registered: number): number[] {
  const limits: number[] = [];
  let floor = 1;
  for (const step of steps) {
    const raw = 'count' in step ? step.count : Math.ceil((step.percent * Math.max(registered, 0)) / 100 - 1e-9);
    floor = Math.max(floor, raw);
    limits.push(floor);
  }
  if (limits.length === 0) return [Infinity];
  limits[limits.length - 1] = Infinity;
  return limits;
}

/** Where a version's rollout stands, by its counts. */
export interface WavePosition {
  /** Index (0-based) of the open wave: the first whose hosts have not all confirmed. */
  wave: number;
  /** Waves in all. */
  waves: number;
  /** Cumulative host limit of the open wave (`Infinity` for the last). */
  limit: number;
  /** Whether one more host may be admitted now. */
  admits: boolean;
}

/**
 * The open wave of a rollout that `admitted` hosts entered and `confirmed` of them confirmed,
 * and whether another host may enter.
 */
export function wavePosition(steps: readonly WaveStep[], registered: number, admitted: number, confirmed: number): WavePosition {
  const limits = waveLimits(steps, registered);
  let wave = limits.findIndex((limit) => confirmed < limit);
  if (wave < 0) wave = limits.length - 1;
  const limit = limits[wave]!;
  return { wave, waves: limits.length, limit, admits: admitted < limit };
}

/**
 * Predicted duration of a rollout to `hosts` hosts, in seconds: each wave takes as many rounds
 * as `max-parallel` needs for its new hosts, and a round lasts one update (post-update hooks,
 * bake) plus the time a waiting host needs to notice the freed slot (`wakeSeconds`). Hosts that
 * only pick the version up at their next check add up to one check interval on top.
 */
export function predictRolloutSeconds(
  steps: readonly WaveStep[],
  hosts: number,
  maxParallel: number,
  round: { updateSeconds: number; wakeSeconds: number },
): number {
  const limits = waveLimits(steps, hosts).map((limit) => Math.min(limit, hosts));
  let before = 0;
  let rounds = 0;
  for (const limit of limits) {
    const size = Math.max(0, limit - before);
    rounds += Math.ceil(size / maxParallel);
    before = Math.max(before, limit);
  }
  return rounds * (round.updateSeconds + round.wakeSeconds);
}
