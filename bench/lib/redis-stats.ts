/**
 * Counting Redis commands per request from `INFO commandstats`, taken just before and just
 * after a measured run.
 *
 * Redis counts the commands a Lua script calls as well as the EVALSHA that ran it, so the
 * one-EVALSHA ceiling (INCR + PEXPIRE inside) reads 3 commands per request. The per-command
 * breakdown tells round trips (EVALSHA, GET, SET … sent by the client) from work inside
 * scripts, using a MONITOR sample (below). The runner's own INFO calls are left out. On a shared Redis (`BENCH_REDIS_URL`),
 * other clients' traffic is counted too.
 */
import type { Redis } from 'ioredis';

/** Calls per command name, e.g. `{ evalsha: 1200, incr: 1200 }`. */
export type CommandCounts = Record<string, number>;

export async function commandStats(redis: Redis): Promise<CommandCounts> {
  const info = await redis.info('commandstats');
  const counts: CommandCounts = {};
  for (const line of info.split(/\r?\n/)) {
    // cmdstat_evalsha:calls=12,usec=…   (Redis 7 subcommands: cmdstat_client|setname:…)
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (!match || match[1] === 'info') continue;
    counts[match[1]!] = Number(match[2]);
  }
  return counts;
}

export function diffCounts(before: CommandCounts, after: CommandCounts): CommandCounts {
  const diff: CommandCounts = {};
  for (const [name, calls] of Object.entries(after)) {
    const delta = calls - (before[name] ?? 0);
    if (delta > 0) diff[name] = delta;
  }
  return diff;
}

export function totalCalls(counts: CommandCounts): number {
  return Object.values(counts).reduce((sum, calls) => sum + calls, 0);
}

/** Redis's own CPU time so far, µs: `used_cpu_user + used_cpu_sys` of `INFO cpu`. */
export async function redisCpuUs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => {
    const value = new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1];
    if (value === undefined) throw new Error(`INFO cpu has no ${name}`);
    return Number(value);
  };
  return Math.round((field('used_cpu_user') + field('used_cpu_sys')) * 1e6);
}

/**
 * Who ran each command during a sample: a client (a round trip) or a Lua script. `INFO
 * commandstats` counts both alike, so the runner watches the warm-up with MONITOR, which tags
 * script commands `[0 lua]`, and splits the measured counts with the fractions it saw.
 */
export interface CommandSources {
  client: CommandCounts;
  script: CommandCounts;
}

const MONITOR_END = 'keel-bench:monitor-end';

/**
 * Starts a MONITOR connection; `stop()` sends a marker through `redis` (a normal connection),
 * waits until the monitor has seen it, so every earlier command is counted, and disconnects.
 */
export async function watchCommandSources(
  redis: Redis,
): Promise<{ stop(): Promise<CommandSources> }> {
  const monitor = await redis.monitor();
  const sources: CommandSources = { client: {}, script: {} };
  let sawEnd: (() => void) | undefined;
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const name = args[0]?.toLowerCase();
    if (!name || name === 'info') return;
    if (name === 'echo' && args[1] === MONITOR_END) {
      sawEnd?.();
      return;
    }
    const counts = source === 'lua' ? sources.script : sources.client;
    counts[name] = (counts[name] ?? 0) + 1;
  });
  return {
    async stop() {
      const seen = new Promise<void>((resolve) => {
        sawEnd = resolve;
      });
      await redis.echo(MONITOR_END);
      await Promise.race([seen, new Promise((resolve) => setTimeout(resolve, 5000))]);
      monitor.disconnect();
      return sources;
    },
  };
}

/**
 * Splits measured per-command calls into those the clients sent (round trips, pipelined or
 * not) and those scripts ran: each command's calls times the share of that command MONITOR
 * saw arrive from a client rather than from a script. A command the sample never saw counts as
 * sent by a client.
 */
export function splitBySource(measured: CommandCounts, sources: CommandSources): CommandSources {
  const split: CommandSources = { client: {}, script: {} };
  for (const [name, calls] of Object.entries(measured)) {
    const base = name.split('|')[0]!;
    const fromClient = sources.client[base] ?? 0;
    const fromScript = sources.script[base] ?? 0;
    const clientShare = fromClient + fromScript > 0 ? fromClient / (fromClient + fromScript) : 1;
    if (clientShare > 0) split.client[name] = calls * clientShare;
    if (clientShare < 1) split.script[name] = calls * (1 - clientShare);
  }
  return split;
}
