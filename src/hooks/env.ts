import { envNameOf, keySpecs } from '../config/keys.js';
import { stripUrlCredentials } from '../util/redact.js';

/**
 * What a hook may see of the agent's environment. Configuration set through `REPO_DEPLOY_*`
 * variables is inherited by every hook and everything it starts (the restarted app), so the
 * values that hold secrets are taken out here, whatever else the environment holds:
 *
 * - every secret key (`secret: true` in `config/keys.ts`: AWS keys, etcd password) is removed,
 *   also under a longer name ending the same way (`REPO_DEPLOY_<APP>_AWS_SECRET_KEY`);
 * - every other `REPO_DEPLOY_*` value keeps its place with URL credentials stripped (a
 *   `REPO_DEPLOY_REMOTE` of `https://bob:TOKEN@host/app.git` becomes `https://host/app.git`).
 *
 * The SDK's own variables (`AWS_SECRET_ACCESS_KEY`…) are the host's choice, not the agent's
 * configuration, and stay: an app on the same host may rely on them.
 */
export function hookProcessEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (!name.startsWith('REPO_DEPLOY_')) out[name] = value;
    else if (!isSecretName(name)) out[name] = stripUrlCredentials(value);
  }
  return out;
}

// `_AWS_SECRET_KEY` and the like: the suffix of each secret key's (and alias's) variable name.
const secretSuffixes: readonly string[] = keySpecs
  .filter((spec) => spec.secret)
  .flatMap((spec) => [spec.name, ...(spec.aliases ?? [])])
  .map((name) => envNameOf(name).slice('REPO_DEPLOY'.length));

function isSecretName(name: string): boolean {
  return secretSuffixes.some((suffix) => name.endsWith(suffix));
}
