import type { Etcd3 } from 'etcd3';
import { agentKey } from './keys.js';
import { parseJson } from './rollouts.js';
import type { AgentRecord } from './types.js';

/**
 * An agent's record in the group, written only when it says something new (version, release,
 * result, rollback) or once every `everyMs` to show the agent still checks: an idle fleet
 * costs etcd almost no writes (every write is a new revision kept until compaction).
 *
 * The record has no lease, so an agent run from cron (`-f`) stays listed after it exits, with
 * its last check; records silent for longer than the retention are pruned (`pruneAgents`).
 * A `-f` run starts without memory of what it wrote, so it reads its record back once.
 */
export class Reporter {
  /** What was last written and when (ms); undefined until known, null when there is none. */
  private last: { content: string; at: number } | null | undefined;

  constructor(
    private readonly client: Etcd3,
    private readonly group: string,
    private readonly id: string,
    private readonly everyMs: number,
  ) {}

  /** Writes `record` if it changed or the last write is `everyMs` old; true if it wrote. */
  async report(record: AgentRecord): Promise<boolean> {
    const key = agentKey(this.group, this.id);
    if (this.last === undefined) {
      const text = await this.client.get(key).string();
      const stored = text === null ? null : parseJson<AgentRecord>(text);
      this.last = stored ? { content: contentOf(stored), at: Date.parse(stored.updatedAt) || 0 } : null;
    }
    const content = contentOf(record);
    const now = Date.now();
    if (this.last && this.last.content === content && now - this.last.at < this.everyMs) return false;
    await this.client.put(key).value(JSON.stringify(record));
    this.last = { content, at: now };
    return true;
  }
}

/** The fields whose change is worth a write: not the check and write times. */
function contentOf(record: AgentRecord): string {
  const { version, release, result, rolledBack } = record;
  return JSON.stringify({ version, release, result, rolledBack });
}
