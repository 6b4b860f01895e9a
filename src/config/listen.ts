/**
 * The `listen` setting, parsed by one function for the config check and for the listener.
 * Only a port means loopback: the endpoints say which versions a host runs and why updates
 * fail, which is nothing to publish by accident; `0.0.0.0:9464` opens it deliberately.
 */

/** Where the health and metrics listener binds. */
export interface ListenAddress {
  /** Host name or IP address (IPv6 without brackets); 127.0.0.1 when only a port was given. */
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
}

/** Parses `PORT`, `:PORT`, `HOST:PORT` or `[IPV6]:PORT`; null when malformed. */
export function parseListen(raw: string): ListenAddress | null {
  const text = raw.trim();
  const m = /^(?:(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]*)):)?(\d{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

/** `HOST:PORT`, with brackets around an IPv6 address: what `parseListen` reads back. */
export function formatListen(at: ListenAddress): string {
  return at.host.includes(':') ? `[${at.host}]:${at.port}` : `${at.host}:${at.port}`;
}
