import v8 from 'node:v8';

/**
 * Keeps V8's young generation of the daemon at its initial size (issue 19).
 *
 * V8 starts the new space at two 1 MiB semi-spaces and doubles them whenever enough survives a
 * scavenge, up to 16 MiB each (32 MiB committed on 64-bit), and then keeps them: a burst of
 * allocation (a deploy's state, logs, child messages) grows it, idle checks never shrink it.
 * Measured with `npm run bench -- --only soak`, that and the old generation's limit growing
 * with it took a daemon from 66 to 77 MiB RSS over 150 deploys, in steps, with no plateau;
 * `--max-semi-space-size=1` on node's command line kept it flat.
 *
 * The daemon cannot put that on its own command line (`bin/repo-deploy` is started by node,
 * and a re-exec would leave a second process holding ~40 MiB for nothing), but the growth
 * factor is read each time V8 considers growing, so setting it to 1 at start has the same
 * effect. Only the daemon does this: a `-f` run exits anyway, and fetch children, which
 * allocate the most, keep the default and its speed.
 */
export function keepYoungGenerationSmall(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}
