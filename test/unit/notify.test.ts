import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { buildBody, Notifier, signBody } from '../../src/notify/index.js';
import { createLogger } from '../../src/log.js';
import { freePort } from '../support/cli.js';
import { startReceiver } from '../support/webhook-receiver.js';

// The notifier against real receivers on 127.0.0.1: retries with back-off, gives up after a
// bounded number of attempts, and `drain` never waits longer than asked.

const logger = createLogger({ destination: { write: () => undefined } as never });
const body = buildBody({ event: 'blocked', app: 'web', agent: 'h1', version: 'v2', previousVersion: 'v1', message: 'hook failed at https://user:pw@example.com/x', time: new Date('2026-01-02T03:04:05Z') });

test('the body: fields, a text line for chat webhooks, credentials removed from the message', () => {
  assert.equal(body.text, 'web on h1: update to v2 blocked, current unchanged: hook failed at https://example.com/x');
  assert.deepEqual({ ...body, text: undefined }, { event: 'blocked', app: 'web', agent: 'h1', version: 'v2', previousVersion: 'v1', release: null, result: 'error', message: 'hook failed at https://example.com/x', time: '2026-01-02T03:04:05.000Z', text: undefined });
  assert.equal(signBody('{"a":1}', 'key'), `sha256=${createHmac('sha256', 'key').update('{"a":1}').digest('hex')}`);
});

test('a receiver that fails twice gets the event on the third attempt; one that never answers is given up on', async () => {
  const flaky = await startReceiver({ failFirst: 2 });
  const notifier = new Notifier({ urls: [`${flaky.origin}/a`], logger, retryDelaysMs: [50, 50, 50] });
  notifier.send(body);
  assert.equal(await notifier.drain(30_000), true);
  assert.equal(flaky.posts.length, 1);
  assert.equal(flaky.requests(), 3);
  assert.equal(flaky.posts[0]!.raw, JSON.stringify(body));

  const down = await freePort();
  const gaveUp = new Notifier({ urls: [`http://127.0.0.1:${down}/`], logger, retryDelaysMs: [10, 10] });
  gaveUp.send(body);
  assert.equal(await gaveUp.drain(30_000), true, 'three refused attempts, then given up');
});

test('drain is bounded: a stalled receiver does not hold it', async () => {
  const stalled = await startReceiver({ stall: true });
  const notifier = new Notifier({ urls: [`${stalled.origin}/`], logger, timeoutMs: 60_000 });
  notifier.send(body);
  assert.equal(await notifier.drain(200), false);
  assert.equal(stalled.requests(), 1);
});
