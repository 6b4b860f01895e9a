import type { Etcd3, Lease } from 'etcd3';
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';

/**
 * The one etcd lease of an agent in a group. Its agent record and any slot it holds are bound
 * to it, so a host that dies (even by `kill -9`) drops out of the group and frees its slot
 * within the TTL, without anyone cleaning up after it. The etcd3 client sends keepalives every
 * TTL/3; when it gives up, the lease is replaced by a fresh one on next use.
 */
export class LeaseKeeper {
  private lease: Lease | null = null;
  private granted: Promise<string> | null = null;
  private generation = new AbortController();
  private warnedKeepalive = false;

  /**
   * @param ttlSeconds whole seconds, as etcd grants them (at least 2: see `minLeaseTtlMs`).
   */
  constructor(
    private readonly client: Etcd3,
    private readonly ttlSeconds: number,
    private readonly logger: Logger,
  ) {}

  /**
   * The id of the live lease, granting one if needed. `lost` is aborted if this lease is lost
   * later, so whatever was bound to it (a slot) can tell.
   */
  async current(): Promise<{ id: string; lost: AbortSignal }> {
    if (!this.granted) this.start();
    const lost = this.generation.signal;
    try {
      return { id: await this.granted!, lost };
    } catch (error) {
      // A failed grant poisons this Lease object: start afresh next time.
      this.drop();
      throw error;
    }
  }

  /** Revokes the lease (clean shutdown): the agent record and any slot go at once. */
  async revoke(): Promise<void> {
    const lease = this.lease;
    const granted = this.granted;
    this.drop();
    if (!lease || !granted) return;
    try {
      await granted;
      await lease.revoke();
    } catch {
      // etcd unreachable: stop keepalives and let the TTL do the revoking.
      lease.release();
    }
  }

  private start(): void {
    const lease = this.client.lease(this.ttlSeconds);
    this.lease = lease;
    this.granted = lease.grant();
    this.granted.catch(() => {}); // observed by current()
    lease.on('lost', (error) => {
      if (this.lease !== lease) return;
      // Loud on purpose: a slot held under this lease may now be another host's.
      this.logger.error({ err: messageOf(error), ttlSeconds: this.ttlSeconds }, 'fleet lease lost: agent record and any rollout slot of this host are gone');
      this.drop();
    });
    lease.on('keepaliveFailed', (error) => {
      if (this.warnedKeepalive) return;
      this.warnedKeepalive = true;
      this.logger.warn({ err: messageOf(error as unknown) }, 'fleet lease keepalive failed; retrying');
    });
    lease.on('keepaliveSucceeded', () => {
      if (this.warnedKeepalive) this.logger.info('fleet lease keepalive restored');
      this.warnedKeepalive = false;
    });
  }

  private drop(): void {
    this.lease?.removeAllListeners();
    this.lease?.on('lost', () => {}); // a late 'lost' from a dropped lease must not crash us
    this.lease = null;
    this.granted = null;
    this.generation.abort(new Error('fleet lease lost'));
    this.generation = new AbortController();
  }
}
