/**
 * Parsing of `s3://bucket/path/app.zip` remote URLs. Kept apart from the client so a malformed
 * URL is reported when the config is loaded, without loading the AWS SDK.
 */

/** A parsed S3 remote address. */
export interface S3Location {
  /** Bucket name, e.g. `releases`. */
  bucket: string;
  /** Object key, e.g. `web/app.zip` (no leading slash). */
  key: string;
  /** `s3://bucket/key`: safe to show, S3 URLs never carry credentials. */
  display: string;
}

const scheme = /^s3:\/\//i;

/** True when `url` is an `s3://` URL (well-formed or not: `parseS3Url` says what is wrong). */
export function isS3Url(url: string): boolean {
  return scheme.test(url.trim());
}

/**
 * Splits `s3://bucket/key` into bucket and key. The key is taken literally, not
 * percent-decoded: S3 keys may hold `?`, `#` and `%`, which a WHATWG URL parse would eat.
 * Throws `Error` with a message that shows the accepted form.
 */
export function parseS3Url(url: string): S3Location {
  const rest = url.trim().replace(scheme, '');
  const form = 'use s3://bucket/path/app.zip';
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const key = slash === -1 ? '' : rest.slice(slash + 1);
  if (bucket === '') throw new Error(`invalid s3 url "${url}": no bucket name; ${form}`);
  if (bucket.includes('@')) {
    // Credentials in the URL would end up in logs and `status`; they have their own keys.
    throw new Error(`invalid s3 url: credentials do not belong in the url; set aws-access-key and aws-secret-key instead`);
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(bucket)) {
    throw new Error(`invalid s3 url "${url}": bucket name "${bucket}" may only hold letters, digits, ".", "-" and "_"; ${form}`);
  }
  if (key === '') throw new Error(`invalid s3 url "${url}": no object key after the bucket; ${form}`);
  if (key.endsWith('/')) throw new Error(`invalid s3 url "${url}": "${key}" names a folder, not an object; ${form}`);
  return { bucket, key, display: `s3://${bucket}/${key}` };
}
