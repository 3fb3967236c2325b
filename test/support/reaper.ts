/**
 * Orphan protection for test services.
 *
 * Node cannot ask the kernel to kill its children when it dies (no
 * PR_SET_PDEATHSIG), and a test process killed with SIGKILL runs no exit
 * handlers. So for every service we start a tiny detached watchdog (`sh -c`)
 * in its own session. It polls the parent node process once per
 * `pollSeconds`; when the parent is gone it SIGKILLs the service's process
 * group(s) and pids and removes the service's temporary paths.
 *
 * Services should be spawned `detached: true` so each one leads its own
 * process group, which lets the watchdog kill it with one signal. Direct
 * children of the group leaders are killed too, even if they left the group
 * (every PostgreSQL child process calls setsid()).
 *
 * When the service is stopped normally the owner calls `disarm()`, which kills
 * the watchdog without touching anything else.
 *
 * Additionally, while the node process is alive and exits normally (including
 * `process.exit()`), an 'exit' hook SIGKILLs every still-armed service (and
 * its direct children) at once,
 * so a test file that forgets to stop a service does not leave it running for
 * the watchdog's next poll. Paths are always removed by the watchdog.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface ReaperOptions {
  /** Process groups to SIGKILL (`kill -KILL -<pgid>`), e.g. the pid of a child spawned with `detached: true`. */
  readonly processGroups?: readonly number[];
  /** Individual processes to SIGKILL. */
  readonly pids?: readonly number[];
  /** Files or directories to remove recursively once the processes are dead. */
  readonly paths?: readonly string[];
  /** The process whose death triggers the reaping. Defaults to this node process. */
  readonly parentPid?: number;
  /** Poll interval of the watchdog in seconds (default 1). */
  readonly pollSeconds?: number;
}

export interface Reaper {
  /** Pid of the watchdog shell (it leads its own process group). */
  readonly pid: number;
  /** Stop watching: kills the watchdog only. Idempotent. */
  disarm(): void;
}

// The watchdog. Parameters come in through the environment (numbers) and the
// positional arguments (paths), so nothing is ever interpolated into the script.
const WATCHDOG_SCRIPT = String.raw`
trap '' HUP INT
while kill -0 "$REAPER_PARENT" 2>/dev/null; do
  sleep "$REAPER_POLL"
done
# Direct children of the group leaders and pids may have left the group
# (every PostgreSQL child process calls setsid()): collect them before the
# kill, while they are still the leaders' children.
children=$(ps -e -o pid=,ppid= 2>/dev/null | awk -v parents=" $REAPER_GROUPS $REAPER_PIDS " '
  index(parents, " " $2 " ") { printf "%s ", $1 }')
for g in $REAPER_GROUPS; do kill -KILL -"$g" 2>/dev/null; done
for p in $REAPER_PIDS $children; do kill -KILL "$p" 2>/dev/null; done
# Wait (at most ~5 s) until no non-zombie member of the groups / pids remains.
i=0
while [ "$i" -lt 50 ]; do
  alive=$(ps -e -o pid=,pgid=,stat= 2>/dev/null | awk -v groups=" $REAPER_GROUPS " -v pids=" $REAPER_PIDS $children " '
    $3 !~ /^Z/ && (index(groups, " " $2 " ") || index(pids, " " $1 " ")) { n++ }
    END { print n + 0 }')
  [ "$alive" = 0 ] && break
  [ -z "$alive" ] && break
  sleep 0.1
  i=$((i + 1))
done
if [ "$#" -gt 0 ]; then
  rm -rf -- "$@" 2>/dev/null
  sleep 0.5
  rm -rf -- "$@" 2>/dev/null
fi
exit 0
`;

interface Armed {
  readonly groups: readonly number[];
  readonly pids: readonly number[];
}

const armed = new Set<Armed>();
let exitHookInstalled = false;

function killQuietly(target: number): void {
  try {
    process.kill(target, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Pids whose parent is one of `parents` (Linux /proc; empty elsewhere). Synchronous: used in the exit hook. */
function childrenOf(parents: ReadonlySet<number>): number[] {
  const found: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parents.has(ppid)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    if (armed.size === 0) return;
    const leaders = new Set<number>();
    for (const entry of armed) for (const id of [...entry.groups, ...entry.pids]) leaders.add(id);
    const children = childrenOf(leaders);
    for (const entry of armed) {
      for (const group of entry.groups) killQuietly(-group);
      for (const pid of entry.pids) killQuietly(pid);
    }
    for (const pid of children) killQuietly(pid);
  });
}

function checkIds(ids: readonly number[], what: string): number[] {
  for (const id of ids) {
    if (!Number.isInteger(id) || id <= 1) throw new Error(`reaper: invalid ${what} ${String(id)}`);
  }
  return [...ids];
}

/** Starts a watchdog for one service. See the module comment. */
export function startReaper(options: ReaperOptions): Reaper {
  const groups = checkIds(options.processGroups ?? [], 'process group');
  const pids = checkIds(options.pids ?? [], 'pid');
  const paths = [...(options.paths ?? [])];
  for (const p of paths) {
    if (!p.startsWith('/') || p === '/' || p.length < 5) throw new Error(`reaper: refusing to watch path ${p}`);
  }
  const parentPid = options.parentPid ?? process.pid;
  const poll = options.pollSeconds ?? 1;

  // The script travels in the environment so that `ps` shows a short command line.
  const child = spawn('/bin/sh', ['-c', 'eval "$REAPER_SCRIPT"', 'sluice-reaper', ...paths], {
    detached: true,
    stdio: 'ignore',
    env: {
      PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
      REAPER_SCRIPT: WATCHDOG_SCRIPT,
      REAPER_PARENT: String(parentPid),
      REAPER_POLL: String(poll),
      REAPER_GROUPS: groups.join(' '),
      REAPER_PIDS: pids.join(' '),
    },
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error('reaper: could not spawn /bin/sh');

  const entry: Armed = { groups, pids };
  armed.add(entry);
  installExitHook();

  let disarmed = false;
  return {
    pid,
    disarm() {
      if (disarmed) return;
      disarmed = true;
      armed.delete(entry);
      killQuietly(-pid);
    },
  };
}

/** True when `pid` exists and is not a zombie (Linux: reads /proc). */
export async function isProcessAlive(pid: number): Promise<boolean> {
  const { readFile } = await import('node:fs/promises');
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ..." — comm may contain spaces/parens, so take the state after the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
