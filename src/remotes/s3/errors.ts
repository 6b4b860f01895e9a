import { RemoteError } from '../../errors.js';
import type { CredentialSource } from './credentials.js';

/**
 * Turns what the AWS SDK throws into a `RemoteError` an operator can act on: it names the
 * bucket and key, says what to change (the region to set, the credential source that was
 * refused), and never carries a secret.
 */

/** What the message may mention. */
export interface S3ErrorContext {
  /** `s3://bucket/key` of the remote. */
  display: string;
  bucket: string;
  /** Key of the object requested (the archive, or a sidecar). */
  key: string;
  region: string;
  endpoint?: string;
  credentials: CredentialSource;
}

/** The shape of SDK service and transport errors, as far as we read them. */
interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  Region?: string;
  Endpoint?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number; headers?: Record<string, string | undefined>; body?: unknown };
  $responseBodyText?: string;
}

/**
 * Raised by the S3 remote for a 200 answer that lacks what every S3 GetObject answer carries
 * (an ETag): the endpoint is some other HTTP server. `s3RemoteError` words it.
 */
export class NotS3AnswerError extends Error {
  constructor(readonly status: number, readonly contentType: string | undefined, readonly missing: string) {
    super(`answer without ${missing}`);
  }
}

/** HTTP status of an SDK error, if the server answered. */
export function statusOf(error: unknown): number | undefined {
  return (error as SdkError | undefined)?.$metadata?.httpStatusCode;
}

const unreachable = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE']);

/** Maps any error from an S3 request to a `RemoteError` naming bucket and key. */
export function s3RemoteError(error: unknown, ctx: S3ErrorContext): RemoteError {
  if (error instanceof RemoteError) return error;
  const e = (error ?? {}) as SdkError;
  const code = e.Code ?? e.name ?? '';
  const status = statusOf(error);
  const where = `bucket "${ctx.bucket}", key "${ctx.key}"`;
  const say = (message: string) => new RemoteError(ctx.display, message, { cause: error });

  if (code === 'AbortError') return say('s3 request aborted');
  const foreign = notS3(error);
  if (foreign) {
    const store = ctx.endpoint ? 'check s3-endpoint: it must be the URL of an S3-compatible store, without the bucket' : 'check aws-region and any HTTP proxy between this host and S3';
    const fix = (statusOf(error) ?? (error as { status?: number }).status ?? 0) >= 500 ? `the store may be down behind a proxy; otherwise ${store}` : store;
    return say(`the s3 endpoint (${endpointName(ctx)}) answered the request for ${where} with something other than an S3 response (${foreign}): ${fix}`);
  }
  if (code === 'NoSuchBucket') return say(`s3 bucket "${ctx.bucket}" does not exist (${endpointName(ctx)})`);
  if (code === 'NoSuchKey' || (status === 404 && code === 'NotFound')) {
    return say(`s3 object not found: ${where} does not exist`);
  }
  if (code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed' || code === 'IllegalLocationConstraintException' || status === 301) {
    const region = e.$response?.headers?.['x-amz-bucket-region'] ?? e.Region ?? regionOfEndpoint(e.Endpoint);
    const hint = region ? `set aws-region = ${region}` : 'set aws-region to the bucket\'s region';
    return say(`s3 bucket "${ctx.bucket}" is not in region ${ctx.region}${region ? ` but in ${region}` : ''}: ${hint}`);
  }
  if (code === 'AccessDenied' || code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch' || code === 'ExpiredToken' || code === 'InvalidToken' || status === 403) {
    return say(`s3 access denied to ${where} with credentials from ${ctx.credentials} (${code || 'http 403'})`);
  }
  if (code === 'CredentialsProviderError') {
    return say('no aws credentials found: set aws-access-key and aws-secret-key, write ~/.amazon/account-key, or configure the aws sdk (environment, profile, instance role)');
  }
  if (code === 'TimeoutError' || e.code === 'ETIMEDOUT') {
    return say(`s3 request for ${where} timed out (${endpointName(ctx)}): ${e.message ?? code}`);
  }
  if (e.code && unreachable.has(e.code)) {
    return say(`s3 endpoint unreachable (${endpointName(ctx)}) for ${where}: ${e.code}`);
  }
  const httpStatus = status ? `http ${status} ` : '';
  return say(`s3 request for ${where} failed: ${httpStatus}${code ? `${code}: ` : ''}${e.message ?? String(error)}`);
}

/**
 * What an answer that did not come from S3 looked like (`HTTP 404, Content-Type: text/html,
 * starts with "<html>"`), or null when the error is S3's own. S3 errors are XML with a Code;
 * a body the SDK could not parse as one, or no Code at all in a non-XML answer, is foreign.
 */
function notS3(error: unknown): string | null {
  if (error instanceof NotS3AnswerError) return describeAnswer(error.status, error.contentType, undefined, `no ${error.missing}`);
  const e = (error ?? {}) as SdkError;
  const response = e.$response;
  if (!response?.statusCode) return null;
  const contentType = response.headers?.['content-type'];
  const unparsed = /Deserialization error|XML parse error/.test(e.message ?? '');
  const codeless = (e.name === 'Unknown' || e.Code === 'UnknownError' || e.message === 'UnknownError') && !/xml/i.test(contentType ?? '');
  if (!unparsed && !codeless) return null;
  const text = e.$responseBodyText ?? (typeof response.body === 'string' ? response.body : undefined);
  return describeAnswer(response.statusCode, contentType, text);
}

function describeAnswer(status: number, contentType: string | undefined, body: string | undefined, extra?: string): string {
  const parts = [`HTTP ${status}`];
  if (contentType) parts.push(`Content-Type: ${contentType}`);
  if (extra) parts.push(extra);
  const start = body?.trim().slice(0, 40);
  if (start) parts.push(`starts with ${JSON.stringify(start)}`);
  return parts.join(', ');
}

/** `endpoint http://…` or `region eu-west-1` for messages. */
function endpointName(ctx: S3ErrorContext): string {
  return ctx.endpoint ? `endpoint ${ctx.endpoint}` : `region ${ctx.region}`;
}

/** `bucket.s3.eu-west-1.amazonaws.com` -> `eu-west-1`. */
function regionOfEndpoint(endpoint: string | undefined): string | undefined {
  return endpoint ? /\bs3[.-]([a-z0-9-]+)\.amazonaws\.com/.exec(endpoint)?.[1] : undefined;
}
