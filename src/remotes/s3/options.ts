import { archiveOptionsOf, networkOptionsOf, type ArchiveOptions, type NetworkOptions } from '../options.js';
import { parseS3Url, type S3Location } from './url.js';

/** What an `s3://bucket/key.zip` remote is built with. */
export interface S3Options extends ArchiveOptions, NetworkOptions {
  /** Static access key id from the config; without one, the account-key file or the SDK's chain. */
  awsAccessKey?: string;
  /** Secret access key going with `awsAccessKey` (both or neither). */
  awsSecretKey?: string;
  /** Region requests are signed for; without one, the SDK's region, then us-east-1. */
  awsRegion?: string;
  /** Custom endpoint of an S3-compatible store (path-style addressing when set). */
  s3Endpoint?: string;
}

/** An S3 remote, parsed from the config. */
export interface S3Spec {
  /** Always `s3`. */
  kind: 's3';
  /** The URL as configured. */
  url: string;
  /** `s3://bucket/key`: S3 URLs never carry credentials. */
  display: string;
  /** Bucket and key. */
  location: S3Location;
  /** This remote's settings. */
  options: S3Options;
}

/** Parses `url` and picks the S3 settings; throws `Error` with the accepted form when malformed. */
export function parseS3Spec(url: string, settings: S3Options): S3Spec {
  const location = parseS3Url(url);
  const options: S3Options = { ...archiveOptionsOf(settings), ...networkOptionsOf(settings) };
  if (settings.awsAccessKey) options.awsAccessKey = settings.awsAccessKey;
  if (settings.awsSecretKey) options.awsSecretKey = settings.awsSecretKey;
  if (settings.awsRegion) options.awsRegion = settings.awsRegion;
  if (settings.s3Endpoint) options.s3Endpoint = settings.s3Endpoint;
  return { kind: 's3', url, display: location.display, location, options };
}
