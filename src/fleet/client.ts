import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';
import { ConfigError } from '../errors.js';
import { fleetDefaults, type FleetConfig } from './types.js';

/**
 * Builds the etcd3 client for a fleet config. The client connects lazily, so an etcd that is
 * down at start-up does not stop the agent: each later call reports it instead.
 */
export function createEtcdClient(config: FleetConfig): Etcd3 {
  const requestTimeoutMs = config.requestTimeoutMs ?? fleetDefaults.requestTimeoutMs;
  const options: IOptions = {
    hosts: config.endpoints,
    dialTimeout: requestTimeoutMs,
    // Every unary call gets a deadline so an unreachable or hung etcd turns into an error within
    // a known bound; streams (watches, lease keepalives) are long-lived and manage themselves.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + requestTimeoutMs }),
    // The default watch reconnect back-off grows to 30 s, and its pending timer keeps a
    // finished `-f` run alive that long after an outage; 5 s is plenty for a few watchers.
    faultHandling: { watchBackoff: backoff(250, 5_000) },
  };
  if (config.auth) options.auth = { username: config.auth.username, password: config.auth.password };
  const credentials = tlsCredentials(config);
  if (credentials) options.credentials = credentials;
  return new Etcd3(options);
}

/** Reads the TLS files named in the config; a missing file is a config error naming it. */
function tlsCredentials(config: FleetConfig): IOptions['credentials'] {
  const tls = config.tls;
  if (!tls || (!tls.ca && !tls.cert && !tls.key)) return undefined;
  const read = (key: string, path: string | undefined): Buffer | undefined => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new ConfigError([{ source: 'fleet', key, value: path, message: `cannot read file: ${(error as Error).message}` }]);
    }
  };
  const rootCertificate = read('etcd-ca', tls.ca);
  const certChain = read('etcd-cert', tls.cert);
  const privateKey = read('etcd-key', tls.key);
  if (Boolean(certChain) !== Boolean(privateKey)) {
    throw new ConfigError([{ source: 'fleet', key: certChain ? 'etcd-key' : 'etcd-cert', message: 'client certificate and key go together' }]);
  }
  // Without a CA, grpc's createSsl falls back to the system roots when given null; the etcd3
  // typings insist on a Buffer, hence the cast.
  return {
    rootCertificate: rootCertificate ?? (null as unknown as Buffer),
    ...(certChain ? { certChain } : {}),
    ...(privateKey ? { privateKey } : {}),
  };
}

/** A doubling back-off from `ms` up to `max`, in the shape the etcd3 client expects. */
interface Backoff {
  readonly duration: number;
  next(): Backoff;
}

function backoff(ms: number, max: number): Backoff {
  return { duration: ms, next: () => backoff(Math.min(ms * 2, max), max) };
}
