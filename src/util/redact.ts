/**
 * Query parameters whose values are credentials: pre-signed URLs of every cloud
 * (`X-Amz-Signature`, `X-Goog-Signature`, `X-Goog-Credential`, Azure's `sig`), tokens and keys
 * under their usual names (`access_token`, `private_token`, `api_key`, `client_secret`).
 */
const secretParams = /(signature|credential|token|secret|passw(or)?d|api[-_]?key)|^(sig|key|auth)$/i;

/**
 * Returns `url` without credentials: `user:password@` becomes `***@`, secret query values
 * become `***`. Anything that is not a URL (scp-like git addresses, paths) is returned with
 * a `user:password@` prefix removed when present.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url.replace(/^([a-z+]+:\/\/)?[^@/\s]*:[^@/\s]*@/i, (_m, scheme: string | undefined) => `${scheme ?? ''}***@`);
  }
  if (!parsed.protocol.startsWith('http') && !parsed.protocol.startsWith('git') && !parsed.protocol.startsWith('ssh') && !parsed.protocol.startsWith('s3')) {
    return url;
  }
  if (parsed.password) {
    parsed.username = '***';
    parsed.password = '';
  } else if (parsed.username && parsed.protocol.startsWith('http')) {
    // https://TOKEN@host/…: a bare user name over HTTP is usually a token.
    parsed.username = '***';
  }
  for (const name of [...parsed.searchParams.keys()]) {
    if (secretParams.test(name)) parsed.searchParams.set(name, '***');
  }
  return parsed.toString().replace(/%2A%2A%2A/g, '***');
}

/** Replaces every occurrence of each non-empty secret in `text` with `***`. */
export function redactText(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('***');
  }
  return out;
}

/**
 * `text` with the credentials of every URL in it removed, for values handed on rather than
 * shown: over HTTP(S) and S3 the whole `user:password@` (a bare user is a token), elsewhere the
 * password only (`ssh://git@host` keeps its user); secret query values become `***`. Unlike
 * `redactUrl`, the rest is left exactly as written (git's `//subdir#ref` included).
 */
export function stripUrlCredentials(text: string): string {
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^/?#\s]*)@/gi, (_all, scheme: string, userinfo: string) => {
      if (/^(git\+)?(https?|s3):\/\/$/i.test(scheme)) return scheme;
      const colon = userinfo.indexOf(':');
      return colon === -1 ? `${scheme}${userinfo}@` : `${scheme}${userinfo.slice(0, colon)}@`;
    })
    .replace(/([?&])([^=&#\s]+)=([^&#\s]*)/g, (all, sep: string, name: string) => (secretParams.test(name) ? `${sep}${name}=***` : all));
}
