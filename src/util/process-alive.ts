/**
 * True while process `pid` exists. EPERM means it runs as another user (a `status` run
 * without root looking at the daemon's pid): alive.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
