import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type { ResolvedCredentials } from './credentials.js';
import type { RemoteConfig } from '../types.js';

/**
 * Builds the AWS SDK client for an S3 remote. The SDK (about 20 MB of JavaScript) is loaded
 * with `import()` on first use, never at the top of a module: hosts that deploy from git or
 * HTTP should not pay its start-up time and memory.
 */

/** The `@aws-sdk/client-s3` module. */
export type S3Sdk = typeof import('@aws-sdk/client-s3');

/** Region used when neither the config nor the SDK's own sources (AWS_REGION, profile) name one. */
export const defaultRegion = 'us-east-1';

let sdk: Promise<S3Sdk> | undefined;

/** Loads the SDK once per process. */
export function loadS3Sdk(): Promise<S3Sdk> {
  sdk ??= import('@aws-sdk/client-s3');
  return sdk;
}

/** A client and the settings it was built with, for messages and `status`. */
export interface S3ClientHandle {
  client: S3Client;
  sdk: S3Sdk;
  /** Region requests are signed for. */
  region: string;
  /** Custom endpoint (config `s3-endpoint` or AWS_ENDPOINT_URL_S3), absent for AWS itself. */
  endpoint?: string;
}

/** Builds a client for `config` with the chosen credentials. */
export async function createS3Client(config: RemoteConfig, credentials: ResolvedCredentials): Promise<S3ClientHandle> {
  const sdk = await loadS3Sdk();
  const region = config.awsRegion || (await sdkRegion(sdk)) || defaultRegion;
  const endpoint = config.s3Endpoint || environmentEndpoint();
  const options: S3ClientConfig = {
    region,
    // S3-compatible stores (MinIO, Ceph, s3rver) are addressed by path: a virtual-host name
    // like `bucket.127.0.0.1` does not resolve, and most such stores have no wildcard DNS.
    forcePathStyle: endpoint !== undefined,
    // connectionTimeout bounds the TCP/TLS connect; socketTimeout is the longest silence while
    // waiting for or reading a response (also mid-body, so a stalled download fails). No
    // overall request timeout: a large archive on a slow link may legitimately take long.
    requestHandler: { connectionTimeout: config.connectTimeoutMs, socketTimeout: config.readTimeoutMs },
  };
  // Without an explicit endpoint the SDK reads AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL itself
  // (verified for this SDK version by the tests); only a config value is passed on.
  if (config.s3Endpoint) options.endpoint = config.s3Endpoint;
  if (credentials.keys) options.credentials = credentials.keys;
  const client = new sdk.S3Client(options);
  return endpoint === undefined ? { client, sdk, region } : { client, sdk, region, endpoint };
}

/**
 * The region from the SDK's own sources (AWS_REGION, the shared config profile's `region`),
 * or undefined. A throwaway client is the public way to run
 * that chain; it makes no request.
 */
async function sdkRegion(sdk: S3Sdk): Promise<string | undefined> {
  const probe = new sdk.S3Client({});
  try {
    return await probe.config.region();
  } catch {
    return undefined;
  } finally {
    probe.destroy();
  }
}

/** The endpoint the SDK takes from the environment, unless told to ignore it. */
function environmentEndpoint(): string | undefined {
  if (process.env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return undefined;
  return process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined;
}
