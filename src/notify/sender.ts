import { messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { redactUrl } from '../util/redact.js';
import { signBody, signatureHeader, type NotifyBody } from './event.js';

/** Options of a `Notifier`. */
export interface NotifierOptions {
  /** The receivers (`notify`); may hold credentials, which are sent as Basic auth, never logged. */
  urls: readonly string[];
  /** `notify-secret`: signs each body (see `signBody`). */
  secret?: string;
  logger: Logger;
  /** Longest one POST may take before it counts as failed (default 10 s). */
  timeoutMs?: number;
  /** Waits before each retry; its length bounds the attempts (default 2 s, 10 s, 1 min, 5 min). */
  retryDelaysMs?: readonly number[];
}

const defaultRetryDelaysMs = [2_000, 10_000, 60_000, 300_000];

/**
 * Delivers notifications in the background: `send` returns at once, each receiver is POSTed
 * on its own and retried with growing waits, then given up on (logged). A slow or dead
 * receiver therefore never delays nor fails a deploy. Timers are unref'd: a pending retry
 * never keeps a one-shot run alive (it waits for `drain`, bounded, instead).
 */
export class Notifier {
  private readonly pending = new Set<Promise<void>>();
  private readonly timeoutMs: number;
  private readonly delays: readonly number[];

  constructor(private readonly options: NotifierOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.delays = options.retryDelaysMs ?? defaultRetryDelaysMs;
  }

  /** Queues `body` for every receiver; never throws, never waits. */
  send(body: NotifyBody): void {
    const text = JSON.stringify(body);
    for (const url of this.options.urls) {
      const delivery = this.deliver(url, text, body.event).catch(() => undefined);
      this.pending.add(delivery);
      void delivery.finally(() => this.pending.delete(delivery));
    }
  }

  /** Waits until every queued notification is delivered or given up, at most `maxMs`. */
  async drain(maxMs: number): Promise<boolean> {
    if (this.pending.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), maxMs)));
    const done = (async () => {
      while (this.pending.size) await Promise.all([...this.pending]);
      return true as const;
    })();
    const delivered = await Promise.race([done, timeout]);
    clearTimeout(timer);
    return delivered;
  }

  private async deliver(url: string, text: string, event: string): Promise<void> {
    // Webhook URLs often hold their secret in the path (Slack, Mattermost): only the origin is shown.
    const shown = originOf(url);
    for (let attempt = 0; ; attempt++) {
      const problem = await this.post(url, text);
      if (!problem) {
        this.options.logger.debug({ url: shown, event }, 'notification delivered');
        return;
      }
      const wait = this.delays[attempt];
      if (wait === undefined) {
        this.options.logger.error({ url: shown, event, err: problem, attempts: attempt + 1 }, 'could not deliver notification, giving up');
        return;
      }
      this.options.logger.warn({ url: shown, event, err: problem, retryInMs: wait }, 'could not deliver notification, will retry');
      await new Promise((resolve) => setTimeout(resolve, wait).unref());
    }
  }

  /** One POST; returns what went wrong, or null on a 2xx answer. */
  private async post(url: string, text: string): Promise<string | null> {
    const { target, authorization } = splitCredentials(url);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'repo-deploy' };
    if (authorization) headers.authorization = authorization;
    if (this.options.secret) headers[signatureHeader] = signBody(text, this.options.secret);
    try {
      const response = await fetch(target, { method: 'POST', headers, body: text, redirect: 'error', signal: AbortSignal.timeout(this.timeoutMs) });
      await response.body?.cancel().catch(() => undefined);
      return response.ok ? null : `HTTP ${response.status}`;
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      // undici says only "fetch failed"; the cause (ECONNREFUSED, timeout) is what helps.
      return redactUrl(cause ? `${messageOf(error)}: ${messageOf(cause)}` : messageOf(error));
    }
  }
}

/** fetch refuses URLs with `user:password@`: they become a Basic Authorization header. */
/** `https://host:port/…`: where a notification goes, without what authorizes it. */
function originOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}/…`;
  } catch {
    return '(an invalid URL)';
  }
}

function splitCredentials(url: string): { target: string; authorization?: string } {
  const parsed = new URL(url);
  if (!parsed.username && !parsed.password) return { target: url };
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  return { target: parsed.toString(), authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}
