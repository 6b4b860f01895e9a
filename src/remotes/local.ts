// PLACEHOLDER: the local remote kind is being built; this stub matches nothing.
import type { RemoteKind } from './types.js';

export const localKind: RemoteKind = {
  name: 'local',
  matches: () => false,
  create: () => {
    throw new Error('local remotes are not implemented yet');
  },
};
