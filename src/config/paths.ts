/** Where the agent keeps its files by default. */
export const defaultPaths = {
  config: '/etc/repo-deploy/repo-deploy.cfg',
  configDir: '/etc/repo-deploy',
  cache: '/var/cache/repo-deploy',
  directory: '/var/deploy',
} as const;
