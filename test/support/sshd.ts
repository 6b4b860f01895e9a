import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { freePort, waitForPort } from './git-daemon.js';
import { testdir } from './tmp.js';

/**
 * A real OpenSSH server on a loopback port, key-only, with its own host key and config in a
 * temp dir, started by the test and stopped when the test file ends.
 */
export interface TestSshd {
  port: number;
  /** The user the server lets in (the one running the tests). */
  user: string;
  /** Private key the server accepts. */
  clientKey: string;
  /** Private key the server does not accept. */
  strangerKey: string;
  /** known_hosts file holding the server's host key for `[127.0.0.1]:port`. */
  knownHosts: string;
  /** known_hosts file holding some other host key for the same address. */
  wrongKnownHosts: string;
  /** `ssh://user@127.0.0.1:port` + `path`. */
  url(path: string): string;
}

function keygen(file: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'repo-deploy-test', '-f', file]);
  chmodSync(file, 0o600);
}

/** Starts `sshd -D -e -f CONFIG` on a free loopback port. */
export async function startSshd(): Promise<TestSshd> {
  const dir = testdir();
  for (const name of ['host_key', 'other_host_key', 'client_key', 'stranger_key']) keygen(join(dir, name));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'AllowTcpForwarding no',
      'X11Forwarding no',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  // sshd refuses to start without its privilege separation directory.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  });
  try {
    await waitForPort(port, 10_000, child);
  } catch (error) {
    throw new Error(`sshd did not start: ${(error as Error).message}: ${stderr}`);
  }
  const hostLine = (key: string) => `[127.0.0.1]:${port} ${readFileSync(join(dir, `${key}.pub`), 'utf8').split(' ').slice(0, 2).join(' ')}\n`;
  writeFileSync(join(dir, 'known_hosts'), hostLine('host_key'));
  writeFileSync(join(dir, 'wrong_known_hosts'), hostLine('other_host_key'));
  const user = userInfo().username;
  return {
    port,
    user,
    clientKey: join(dir, 'client_key'),
    strangerKey: join(dir, 'stranger_key'),
    knownHosts: join(dir, 'known_hosts'),
    wrongKnownHosts: join(dir, 'wrong_known_hosts'),
    url: (path) => `ssh://${user}@127.0.0.1:${port}${path.startsWith('/') ? '' : '/'}${path}`,
  };
}
