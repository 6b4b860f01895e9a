import { createHmac } from 'node:crypto';
import { stripUrlCredentials } from '../util/redact.js';

/** What happened, as a notification names it. */
export type NotifyEventName = 'deployed' | 'blocked' | 'reverted' | 'failed' | 'quarantined' | 'rolled-back';

/** The facts a notification is built from. */
export interface NotifyFacts {
  event: NotifyEventName;
  app: string;
  /** This agent's id (`id`, default the host name). */
  agent: string;
  /** The version deployed or attempted. */
  version?: string;
  /** The version current held before. */
  previousVersion?: string;
  /** The release current points at afterwards (or the one attempted when nothing changed). */
  release?: string;
  /** The error or reason when it did not succeed. */
  message?: string;
  /** When it happened. */
  time: Date;
}

/**
 * The JSON body POSTed to each `notify` URL. `text` is one line that Slack and Mattermost
 * incoming webhooks show as is; the other fields are for machines.
 */
export interface NotifyBody {
  event: NotifyEventName;
  app: string;
  agent: string;
  version: string | null;
  previousVersion: string | null;
  release: string | null;
  /** `ok` for deployed and rolled-back, `error` otherwise. */
  result: 'ok' | 'error';
  message: string | null;
  /** ISO time. */
  time: string;
  text: string;
}

/** Header carrying the body's HMAC-SHA256 when `notify-secret` is set (GitHub's webhook scheme). */
export const signatureHeader = 'X-Repo-Deploy-Signature';

/** Builds the body of a notification; credentials in the message are removed. */
export function buildBody(facts: NotifyFacts): NotifyBody {
  const message = facts.message ? stripUrlCredentials(facts.message) : null;
  const ok = facts.event === 'deployed' || facts.event === 'rolled-back';
  return {
    event: facts.event,
    app: facts.app,
    agent: facts.agent,
    version: facts.version ?? null,
    previousVersion: facts.previousVersion ?? null,
    release: facts.release ?? null,
    result: ok ? 'ok' : 'error',
    message,
    time: facts.time.toISOString(),
    text: textLine(facts, message),
  };
}

/** `sha256=<hex>`: the HMAC-SHA256 of the exact body bytes under `secret`. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** One human line, e.g. `web on host-1: deployed v2 (was v1), release 2026…`. */
function textLine(facts: NotifyFacts, message: string | null): string {
  const where = `${facts.app} on ${facts.agent}`;
  const version = facts.version ?? 'unknown version';
  const was = facts.previousVersion ? ` (was ${facts.previousVersion})` : '';
  const release = facts.release ? `, release ${facts.release}` : '';
  const why = message ? `: ${message}` : '';
  switch (facts.event) {
    case 'deployed':
      return `${where}: deployed ${version}${was}${release}`;
    case 'rolled-back':
      return `${where}: rolled back to ${version}${was}${release}`;
    case 'blocked':
      return `${where}: update to ${version} blocked, current unchanged${why}`;
    case 'reverted':
      return `${where}: update to ${version} reverted${facts.previousVersion ? ` to ${facts.previousVersion}` : ''}${why}`;
    case 'quarantined':
      return `${where}: ${version} quarantined, not deployed${why}`;
    case 'failed':
      return `${where}: update to ${version} failed${why}`;
  }
}
