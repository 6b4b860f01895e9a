import type { AppConfig } from '../config/types.js';
import { openCoordinator, type Coordinator } from '../fleet/coordinator.js';
import type { Logger } from '../log.js';

/**
 * The daemon's fleet connections, one per app for its lifetime: the lease carries this
 * agent's registration between checks. Opened on an app's first check.
 */
export class Coordinators {
  private readonly open = new Map<string, Promise<Coordinator | undefined>>();

  constructor(private readonly logger: Logger) {}

  /** The coordinator of `app`, or undefined without etcd. */
  of(app: AppConfig): Promise<Coordinator | undefined> {
    if (!this.open.has(app.name)) this.open.set(app.name, openCoordinator(app, this.logger));
    return this.open.get(app.name)!;
  }

  /** Forgets the current connections now; closes them once `idle` (the checks in progress) settled. */
  async closeAll(idle: Promise<unknown>): Promise<void> {
    const open = [...this.open.values()];
    this.open.clear();
    await idle;
    await Promise.allSettled(open.map(async (c) => (await c)?.close()));
  }
}
