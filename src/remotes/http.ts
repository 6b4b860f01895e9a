// PLACEHOLDER: the http remote kind is being built; this stub matches nothing.
import type { RemoteKind } from './types.js';

export const httpKind: RemoteKind = {
  name: 'http',
  matches: () => false,
  create: () => {
    throw new Error('http remotes are not implemented yet');
  },
};
