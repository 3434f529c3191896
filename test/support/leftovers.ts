import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/*
 * Everything the harness starts in this process must die with it, even when a test run
 * crashes or forgets a stop():
 *
 * - an 'exit' handler SIGKILLs the servers still running and removes the scratch dir;
 * - that handler does not run when this process is itself killed by a signal (vitest ending a
 *   worker, SIGKILL, the OOM killer), so a tiny detached `sh` reads PIDs from a pipe that only
 *   this process holds. When this process dies for any reason the pipe reaches EOF, and the
 *   shell SIGKILLs every PID still listed and removes the scratch dir. A PID leaves the list as
 *   soon as its process exits, so a reused PID is never signalled.
 */
const REAPER_SCRIPT = `
pids=" "
while IFS= read -r line; do
  case "$line" in
    -*) gone=\${line#-}; kept=" "
        for p in $pids; do [ "$p" = "$gone" ] || kept="$kept$p "; done
        pids=$kept ;;
    *) pids="$pids$line " ;;
  esac
done
for p in $pids; do kill -9 "$p" 2>/dev/null; done
rm -rf -- "$1"
`;

const running = new Set<number>();
let scratch: string | undefined;
let reaper: ChildProcess | undefined;

/**
 * This process's private temp dir (`$TMPDIR/keel-redis-XXXXXX`), under which every server
 * gets its own dir; created on first use, removed when the process ends.
 */
export function scratchDir(): string {
  if (scratch) return scratch;
  scratch = mkdtempSync(path.join(os.tmpdir(), 'keel-redis-'));
  process.on('exit', onExit);
  reaper = spawn('sh', ['-c', REAPER_SCRIPT, 'keel-reaper', scratch], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  // Neither the shell nor its pipe may keep this process alive.
  reaper.on('error', () => {});
  reaper.stdin?.on('error', () => {});
  reaper.unref();
  (reaper.stdin as net.Socket | null)?.unref();
  return scratch;
}

/** Makes sure `child` is SIGKILLed if this process ends before it does. */
export function killWithProcess(child: ChildProcess): void {
  const { pid } = child;
  if (pid === undefined) return;
  scratchDir();
  running.add(pid);
  reaper?.stdin?.write(`${pid}\n`);
  child.once('exit', () => {
    running.delete(pid);
    reaper?.stdin?.write(`-${pid}\n`);
  });
}

function onExit(): void {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}
