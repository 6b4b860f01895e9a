import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeLayout, runCli, startBackground, type AppStatusJson, type Background, type CliOptions, type CliResult, type Layout } from '../support/cli.js';
import { testdir, writeTree } from '../support/tmp.js';

/**
 * Agents of one fleet for the end-to-end fleet tests: each is its own host as far as
 * repo-deploy can tell (own deploy dir, cache, hook dirs, config file and `-i ID`), and all
 * poll one shared local directory remote and one test etcd.
 */

/** One agent: a layout whose config file holds the remote, hooks and the fleet keys. */
export interface Agent {
  id: string;
  layout: Layout;
  /** `-c CONFIG -i ID` then `rest` (e.g. `['-f']`, `['status', '--json']`, `['fleet', 'status']`). */
  run(rest: readonly string[], options?: CliOptions): Promise<CliResult>;
  /** Same as `run`, in the background (for runs the test kills or races). */
  start(rest: readonly string[], options?: CliOptions): Background;
  /** Rewrites the config: the common keys, then `extra` lines. */
  configure(extra?: string): void;
}

/** A fleet of agents sharing one remote directory. */
export interface Fleet {
  /** The shared remote: a local directory. */
  remote: string;
  /** Where hooks written with `timedHook` record `ID start|end MS` lines. */
  timeline: string;
  agents: Agent[];
  /** Replaces the remote's content with one file `v.txt` holding `version`. */
  publish(version: string): void;
}

/**
 * Makes `count` agents `h1..hN` on one remote. `fleetKeys` are config lines every agent gets
 * (`etcd = ...`, `max-parallel = ...`, ...).
 */
export function makeFleet(count: number, fleetKeys: string): Fleet {
  const shared = testdir();
  const remote = join(shared, 'remote');
  mkdirSync(remote);
  const timeline = join(shared, 'timeline.log');
  const agents: Agent[] = [];
  for (let n = 1; n <= count; n++) {
    const id = `h${n}`;
    const layout = makeLayout();
    const base = [
      `remote = ${remote}`,
      `local = ${layout.link}`,
      `cache = ${layout.cache}`,
      `pre-hooks = ${layout.pre}`,
      `post-hooks = ${layout.post}`,
      fleetKeys,
    ].join('\n');
    const agent: Agent = {
      id,
      layout,
      configure: (extra = '') => writeFileSync(layout.config, `${base}\n${extra}\n`),
      run: (rest, options = {}) => runCli(['-c', layout.config, '-i', id, ...rest], { cwd: layout.root, ...options }),
      start: (rest, options = {}) => startBackground(['-c', layout.config, '-i', id, ...rest], { cwd: layout.root, ...options }),
    };
    agent.configure();
    agents.push(agent);
  }
  return {
    remote,
    timeline,
    agents,
    publish: (version) => writeTree(remote, { 'v.txt': version }),
  };
}

/**
 * Writes agent `agent`'s post-update hook: appends `ID start MS`, runs `body` (default
 * `sleep 1`), appends `ID end MS`, to the fleet's timeline. Only for forward deploys, not the
 * post hooks re-run by a revert.
 */
export function timedHook(fleet: Fleet, agent: Agent, body = 'sleep 1'): void {
  const script = [
    '#!/bin/sh',
    'set -e',
    `echo "${agent.id} start $(date +%s%3N) $REPO_DEPLOY_REVERT" >> '${fleet.timeline}'`,
    body,
    `echo "${agent.id} end $(date +%s%3N) $REPO_DEPLOY_REVERT" >> '${fleet.timeline}'`,
    '',
  ].join('\n');
  writeFileSync(join(agent.layout.post, '50-timed'), script, { mode: 0o755 });
}

/** One line of the timeline. */
export interface TimelineEvent {
  id: string;
  kind: 'start' | 'end';
  ms: number;
}

/** The timeline's events, in file order. */
export function readTimeline(fleet: Fleet): TimelineEvent[] {
  if (!existsSync(fleet.timeline)) return [];
  return readFileSync(fleet.timeline, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id = '', kind = '', ms = ''] = line.split(' ');
      if (kind !== 'start' && kind !== 'end') throw new Error(`bad timeline line: ${line}`);
      return { id, kind, ms: Number(ms) };
    });
}

/**
 * The largest number of agents that were between `start` and `end` at one moment. At equal
 * times an end counts before a start: the timeline has millisecond resolution, and a slot
 * handed over within the same millisecond is not an overlap.
 */
export function maxConcurrent(events: readonly TimelineEvent[]): number {
  const sorted = [...events].sort((a, b) => a.ms - b.ms || (a.kind === 'end' ? -1 : 1) - (b.kind === 'end' ? -1 : 1));
  let now = 0;
  let max = 0;
  for (const e of sorted) {
    now += e.kind === 'start' ? 1 : -1;
    max = Math.max(max, now);
  }
  return max;
}

/** An agent's `status --json` for its one app. */
export async function statusOf(agent: Agent): Promise<AppStatusJson> {
  const r = await agent.run(['status', '--json']);
  if (r.code !== 0) throw new Error(`status of ${agent.id} exited ${r.code}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as AppStatusJson[])[0]!;
}

/** The version an agent's `current` serves (every test version writes `v.txt`). */
export function deployed(agent: Agent): string {
  return readFileSync(join(agent.layout.link, 'v.txt'), 'utf8');
}
