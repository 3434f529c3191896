import { type RedisServer, startRedisServer } from './redis-server.js';

/** Independent standalone servers, e.g. the N masters a Redlock quorum needs. */
export interface RedisServerGroup {
  readonly servers: RedisServer[];
  /** `servers.map((s) => s.url)` */
  readonly urls: string[];
  /** Stops every server (in parallel) and removes their directories. */
  stop(): Promise<void>;
}

/**
 * Starts `n` unrelated `redis-server` processes in parallel. If any fails to start, the others
 * are stopped before the error is rethrown, so a failed call leaves nothing running.
 */
export async function startRedisServers(
  n: number,
  opts: { args?: string[] } = {},
): Promise<RedisServerGroup> {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  const settled = await Promise.allSettled(
    Array.from({ length: n }, () => startRedisServer(opts.args ? { args: opts.args } : {})),
  );
  const servers = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(servers.map((server) => server.stop()));
    throw failed.reason;
  }
  return {
    servers,
    urls: servers.map((server) => server.url),
    stop: async () => {
      await Promise.all(servers.map((server) => server.stop()));
    },
  };
}
