// System tools the tests need that are not npm packages. Missing ones are installed from
// Debian's packages (the test command runs as root on CI); a tool that still cannot be found
// makes the suite fail, never skip.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** command -> Debian package providing it */
const needed = {
  git: 'git',
  unzip: 'unzip',
  zip: 'zip',
  '/usr/lib/git-core/git-daemon': 'git',
  python3: 'python3',
  minisign: 'minisign',
  'ssh-keygen': 'openssh-client',
  openssl: 'openssl',
  'systemd-analyze': 'systemd',
  etcd: 'etcd-server',
  '/usr/sbin/sshd': 'openssh-server',
  ssh: 'openssh-client',
  '/usr/bin/chromium': 'chromium',
};

function has(command) {
  if (command.startsWith('/')) return existsSync(command);
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

export function ensureTools() {
  const missing = Object.entries(needed).filter(([cmd]) => !has(cmd));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map(([, pkg]) => pkg))];
  console.error(`installing test tools: ${packages.join(' ')}`);
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync(sudo[0] ?? 'apt-get', [...sudo.slice(1), ...(sudo.length ? ['apt-get'] : []), 'update', '-q'], { stdio: 'inherit', env });
  const r = spawnSync(sudo[0] ?? 'apt-get', [...sudo.slice(1), ...(sudo.length ? ['apt-get'] : []), 'install', '-y', '-q', ...packages], { stdio: 'inherit', env });
  const still = missing.filter(([cmd]) => !has(cmd));
  if (r.status !== 0 || still.length) {
    console.error(`test tools missing and could not be installed: ${still.map(([c]) => c).join(', ')}`);
    process.exit(1);
  }
}
