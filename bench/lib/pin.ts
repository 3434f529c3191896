/**
 * CPU pinning for `pnpm bench`: the measured server alone on one core, the load generator (the
 * runner) and the private `redis-server` on another, so the three stop migrating between cores
 * and taking turns on the same one. Linux `taskset` only; without it, or on a single core,
 * nothing is pinned and the results file says so.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface PinPlan {
  /** Core of every server child (`taskset -c <server> node …`). */
  server: number;
  /** Core of the runner (autocannon) and of the private redis-server. */
  load: number;
}

/** Cores this process may run on (it may already be restricted, e.g. by a container). */
function allowedCores(): number[] {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
    if (list) return parseCpuList(list);
  } catch {}
  return os.cpus().map((_, i) => i);
}

export function parseCpuList(list: string): number[] {
  const cores: number[] = [];
  for (const part of list.split(',')) {
    const [from, to] = part.split('-').map(Number);
    if (from === undefined || Number.isNaN(from)) continue;
    for (let core = from; core <= (to ?? from); core++) cores.push(core);
  }
  return cores;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The plan (server on the first allowed core, load on the second), or why there is none. */
export function pinPlan(): PinPlan | string {
  if (process.platform !== 'linux') return `not pinned: ${process.platform} has no taskset`;
  if (!hasTaskset()) return 'not pinned: taskset not found (util-linux)';
  const cores = allowedCores();
  if (cores.length < 2) return `not pinned: only ${cores.length} core available`;
  return { server: cores[0]!, load: cores[1]! };
}

/** `taskset -a -cp <core> <pid>`: every thread of a running process, not just its main one. */
export function pinProcess(pid: number, core: number): void {
  execFileSync('taskset', ['-a', '-cp', String(core), String(pid)], { stdio: 'ignore' });
}

/** The cores a process may run on now, as the kernel reports them (e.g. `1`). */
export function coresOf(pid: number): string {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1] ?? '?';
  } catch {
    return '?';
  }
}

/** /proc/stat counts in USER_HZ ticks; Linux fixes USER_HZ at 100 for user space. */
const TICK_US = 10_000;

/**
 * Busy time of each listed core so far, µs (everything but idle and iowait; steal included:
 * time the hypervisor gave to someone else is time the core was not ours), or undefined
 * where /proc/stat is unreadable.
 */
export function coreBusyUs(cores: readonly number[]): number | undefined {
  try {
    const stat = readFileSync('/proc/stat', 'utf8');
    let busy = 0;
    for (const core of cores) {
      const line = new RegExp(`^cpu${core} (.+)$`, 'm').exec(stat)?.[1];
      if (!line) return undefined;
      const [user, nice, system, _idle, _iowait, irq, softirq, steal] = line
        .trim()
        .split(/\s+/)
        .map(Number);
      busy += (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) * TICK_US;
    }
    return busy;
  } catch {
    return undefined;
  }
}
