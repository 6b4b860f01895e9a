/**
 * The S3 remote against a real s3rver on 127.0.0.1: the shared conformance suite (endpoint
 * from AWS_ENDPOINT_URL_S3, as the SDK reads it), then S3-specific behaviour.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { RemoteError } from '../../src/errors.js';
import { makeTestRemote, readTree, testContext, testRemoteConformance, zipOfFiles, type RemoteFixture } from './conformance.js';
import { closedPort, s3rverKeys, startS3rver, type S3rverHandle } from '../support/s3rver.js';
import { testdir } from '../support/tmp.js';

const keys = { awsAccessKey: s3rverKeys.accessKeyId, awsSecretKey: s3rverKeys.secretAccessKey };

/** Sets environment variables until `restore()`; undefined deletes. */
function setEnv(values: Record<string, string | undefined>): () => void {
  const before = Object.fromEntries(Object.keys(values).map((k) => [k, process.env[k]]));
  const apply = (vals: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vals)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(values);
  return () => apply(before);
}

let fixtureCount = 0;

/** A fresh s3rver per case; the endpoint reaches the SDK through AWS_ENDPOINT_URL_S3. */
async function s3Fixture(): Promise<RemoteFixture> {
  const bucket = `conformance-${++fixtureCount}`;
  const server = await startS3rver([bucket]);
  const deadPort = await closedPort();
  const restore = setEnv({ AWS_ENDPOINT_URL_S3: server.endpoint, AWS_REGION: undefined });
  const counted = () => server.seen;
  return {
    url: `s3://${bucket}/apps/web/app.zip`,
    publish: async (files) => server.put(bucket, 'apps/web/app.zip', await zipOfFiles(files)),
    requests: () => ({ count: counted().length, bodyBytes: counted().reduce((n, r) => n + r.bodyBytes, 0) }),
    resetCounters: () => server.reset(),
    missingUrl: () => `s3://${bucket}/apps/web/missing.zip`,
    unreachableUrl: () => {
      // The endpoint is not part of an s3:// URL: point the environment at a dead port.
      process.env.AWS_ENDPOINT_URL_S3 = `http://127.0.0.1:${deadPort}`;
      return `s3://${bucket}/apps/web/app.zip`;
    },
    truncateNext: () => server.truncateNextAfter(100),
    close: async () => {
      restore();
      await server.close();
    },
  };
}

testRemoteConformance('s3', s3Fixture, keys);
