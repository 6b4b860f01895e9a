// PLACEHOLDER: the git remote kind is being built; this stub matches nothing.
import type { RemoteKind } from './types.js';

export const gitKind: RemoteKind = {
  name: 'git',
  matches: () => false,
  create: () => {
    throw new Error('git remotes are not implemented yet');
  },
};
