// PLACEHOLDER: the s3 remote kind is being built; this stub matches nothing.
import type { RemoteKind } from './types.js';

export const s3Kind: RemoteKind = {
  name: 's3',
  matches: () => false,
  create: () => {
    throw new Error('s3 remotes are not implemented yet');
  },
};
