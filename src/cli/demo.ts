import { chmodSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import { silentLogger } from '../log.js';
import { checkOnce } from '../pipeline/check.js';
import { readStatus } from '../status.js';
import { formatStatus } from './format.js';

/**
 * `repo-deploy demo [DIR]`: the embedded default. Sets up a local example remote (a directory)
 * with a sample post-update hook in DIR (default `./.demo`), deploys it, publishes a second
 * version and deploys that, printing each step: the real pipeline, on local files only.
 */
export async function runDemo(dirArg: string | undefined, cwd: string, print: (text: string) => void): Promise<number> {
  const dir = resolve(cwd, dirArg ?? '.demo');
  rmSync(dir, { recursive: true, force: true });
  const remote = join(dir, 'remote');
  const hooks = { pre: join(dir, 'pre-update.d'), post: join(dir, 'post-update.d') };
  for (const d of [remote, hooks.pre, hooks.post]) mkdirSync(d, { recursive: true });
  const hookLog = join(dir, 'hook.log');
  writeFileSync(join(hooks.post, '10-announce'), `#!/bin/sh\n# Sample post-update hook: a real one would restart the app.\necho "post-update: now serving '$(cat index.html)' from $CURRENT_CONFIG (previous: \${PREVIOUS_CONFIG:-none})" | tee -a '${hookLog}'\n`);
  chmodSync(join(hooks.post, '10-announce'), 0o755);

  const publish = (version: string) => {
    writeFileSync(join(remote, 'index.html'), `hello from ${version}`);
    writeFileSync(join(remote, 'start.sh'), `#!/bin/sh\necho starting ${version}\n`);
    chmodSync(join(remote, 'start.sh'), 0o755);
  };
  // A real config file, so the commands printed at the end work on the same app.
  const configFile = join(dir, 'repo-deploy.cfg');
  writeFileSync(configFile, '# written by repo-deploy demo\nremote = remote\nlocal = deploy/current\ncache = cache\npre-hooks = pre-update.d\npost-hooks = post-update.d\n');
  const config = loadConfig({ configFile, cwd: dir });
  const app = config.apps[0]!;
  const link = app.local;

  const deploy = async (label: string) => {
    writeFileSync(hookLog, '');
    const outcome = await checkOnce({ app, logger: silentLogger() });
    print(`\n== ${label}: ${outcome.result}${outcome.releaseId ? ` -> release ${outcome.releaseId}` : ''}`);
    if (outcome.error) throw outcome.error;
    const hookLines = readFileSync(hookLog, 'utf8').trim();
    if (hookLines) print(hookLines);
    print(`current -> ${readlinkSync(link)}   (${readFileSync(join(link, 'index.html'), 'utf8')})`);
  };

  print(`repo-deploy demo in ${dir}\nremote: ${remote} (a local directory; s3://, http(s):// and git URLs work the same way)`);
  publish('version 1');
  await deploy('first check: version 1 published');
  await deploy('second check: nothing changed');
  publish('version 2');
  await deploy('third check: version 2 published');
  print(`\n== repo-deploy status\n${formatStatus(await readStatus([app]))}`);
  print(`\nTry it yourself:\n  echo 'version 3' > ${join(remote, 'index.html')}\n  node bin/repo-deploy -f -c ${configFile}\n  node bin/repo-deploy status -c ${configFile}`);
  return 0;
}
