/**
 * Counting Redis commands per request from `INFO commandstats`, taken just before and just
 * after a measured run.
 *
 * Redis counts the commands a Lua script calls as well as the EVALSHA that ran it, so the
 * one-EVALSHA ceiling (INCR + PEXPIRE inside) reads 3 commands per request. The per-command
 * breakdown tells round trips (EVALSHA, GET, SET … sent by the client) from work inside
 * scripts. The runner's own INFO calls are left out. On a shared Redis (`BENCH_REDIS_URL`),
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
