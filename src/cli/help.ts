/** Text of `repo-deploy --help` and each subcommand's help. */
export const mainHelp = `usage: repo-deploy [options] [REMOTE [LOCAL]]
       repo-deploy status|releases|check-config [options] [REMOTE [LOCAL]]

Polls REMOTE (s3://bucket/key.zip, http(s)://…/app.zip, a git URL, or a local directory
or .zip) and deploys new versions as immutable releases behind the LOCAL symlink
(default DIR/current). Runs as a daemon on the configured schedule; with -f, checks once.

options:
  -c, --config FILE     config file (default /etc/repo-deploy/repo-deploy.cfg)
      --cache DIR       downloads and git mirrors (default /var/cache/repo-deploy)
      --pre-hooks DIR   pre-update hooks (default /etc/repo-deploy/pre-update.d)
      --post-hooks DIR  post-update hooks (default /etc/repo-deploy/post-update.d)
  -i, --id ID           this agent's id (default: hostname)
  -d, --directory DIR   deploy directory (default /var/deploy); LOCAL defaults to DIR/current
  -r, --remote URL      same as REMOTE
  -l, --local PATH      same as LOCAL
  -f, --fetch           check once, deploy if needed, exit
  -n, --dry-run         with -f: say what an update would do (release, hooks, download
                        size), change nothing; --dry-run=fetch also fetches and checks
                        the version as a real run does before the hooks, then discards it
  -v, --verbose         debug logging
      --log-format json|pretty
                        log lines as JSON or for people (default: pretty on a terminal)
  -h, --help            this help (also: repo-deploy COMMAND --help)
      --version         print the version

commands:
  status [--json]       current and previous release, last check, failures, hook output
  releases [--json]     every release on disk with its version and status
  check-config          validate the configuration without touching anything
  rollback [APP] [--to RELEASE]
                        make the previous (or given) release current, running the hooks;
                        held until the remote's version changes or resume
  resume [APP]          lift a rollback's hold
  history [APP] [--json]
                        every deploy, block, revert, rollback, resume, retry and repair
  check [APP] [--no-wait]
                        ask the running daemon to check now and print the outcome
  retry [APP]           check now and deploy the remote's version even while it backs off
  fleet status [APP] [--json]
                        agents, rollout slots and quarantined versions in etcd
  fleet clear VERSION [APP]
                        lift the quarantine of VERSION
  fleet pause [GROUP]   no host of the rollout group starts a new version
  fleet resume [GROUP]  lift the pause
  demo [DIR]            try it: deploy a local example remote into DIR (default ./.demo)

exit codes: 0 up to date or deployed; 1 the update failed (fetch, verification, blocked,
reverted, or the version is still backing off); 2 usage or config error; 75 busy (another
run holds the lock).

Logs go to standard error: JSON lines (pino), or lines for people when it is a terminal.`;

export const commandHelp: Record<string, string> = {
  status: `usage: repo-deploy status [--json] [-c FILE] [--cache DIR] [-d DIR] [REMOTE [LOCAL]]

Shows, per app: the remote, current and previous release with their versions, the last
check and its result, a failing version and when it is tried again, and the tail of the
last hook output. Takes the same options as a run, to find the app. Changes nothing.
  --json   print JSON for scripts`,
  releases: `usage: repo-deploy releases [--json] [-c FILE] [-d DIR] [REMOTE [LOCAL]]

Lists the releases on disk, oldest first, marking the current (*) and previous (-) one.
  --json   print JSON for scripts`,
  history: `usage: repo-deploy history [APP] [--json] [-c FILE] [-d DIR] [REMOTE [LOCAL]]

Lists, newest first, every deploy, block, revert, rollback, resume, retry and repair of
each app: time, action, result, from and to version and release, duration, and who (the
agent, or the operator's user name for commands; SUDO_USER through sudo). The last 1000
entries are kept, in DIR/.repo-deploy/history.jsonl. Changes nothing.
  --json   print JSON for scripts`,
  'check-config': `usage: repo-deploy check-config [-c FILE] [options] [REMOTE [LOCAL]]

Validates the configuration (file, REPO_DEPLOY_* environment and flags) without touching
anything. Prints every problem at once and exits 2 when there is one, 0 otherwise.`,
  demo: `usage: repo-deploy demo [DIR]

Sets up a local example remote (a directory) and a sample post-update hook in DIR (default
./.demo, replaced if present), deploys it, publishes a second version, deploys that and
shows the swap and the status. Only local files are touched.`,
  rollback: `usage: repo-deploy rollback [APP] [--to RELEASE] [options]

Makes the previous release (or RELEASE, see repo-deploy releases) current again, running the
pre-update and post-update hooks as an update does (a failing post-update hook reverts).
Afterwards the app is held: the version rolled back from is not redeployed until the remote's
version changes again, or until repo-deploy resume. APP is needed when the config has several.`,
  resume: `usage: repo-deploy resume [APP] [options]

Lifts a rollback's hold: the next check deploys the remote's version again.`,
  check: `usage: repo-deploy check [APP] [options]

Asks the running daemon to check now. The daemon records its pid in
<deploy dir>/.repo-deploy/daemon.pid; check sends it SIGUSR1, and the daemon checks all its
apps at once (an unchanged remote costs one request). check waits for that check to end,
prints its outcome and exits as repo-deploy -f would (0, 1 or 75); with --no-wait it returns
once the daemon was signalled. Exit 1 when no daemon is running.`,
  retry: `usage: repo-deploy retry [APP] [options]

Checks the remote now and deploys its version even while that version is backing off after a
failure (a fixed hook, a repaired server). Waits up to 30 s for a check in progress. Exit
codes as repo-deploy -f. A rollback's hold still applies: lift it with repo-deploy resume.`,
  fleet: `usage: repo-deploy fleet status [APP] [--json] [options]
       repo-deploy fleet clear VERSION [APP] [options]
       repo-deploy fleet pause [GROUP] [options]
       repo-deploy fleet resume [GROUP] [options]

For apps with etcd = URL: status lists every agent of the app's rollout group (version, last
check; agents run from cron stay listed for 24 h), the rollout slots held, the quarantined
versions (host, time, reason), and each recent version's wave, hosts confirmed, in flight and
failed, and why the others wait; clear lifts the quarantine of VERSION so hosts deploy it
again. pause stops every host of GROUP (default: the first app's group) from starting a new
version (result paused, exit 0; hosts in flight finish); resume lifts it.`,
  run: mainHelp,
};
