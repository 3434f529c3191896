/**
 * Shared settings of the rate-limit rows: limits the run never reaches (every request is
 * counted and allowed, so the rows measure the limiter's cost, not rejections), and an
 * ioredis client like the application would have.
 */
import { Redis } from 'ioredis';
import { benchRedisUrl } from './announce.js';

/** Per-minute limit far above anything a run sends from one client. */
export const PER_MINUTE = 100_000_000;
export const MINUTE_MS = 60_000;

/** The three policies of the three-policy rows: a burst, an hourly and a daily limit. */
export const THREE_POLICIES = [
  { name: 'burst', limit: 10_000_000, windowMs: 1000 },
  { name: 'hourly', limit: 100_000_000, windowMs: 3_600_000 },
  { name: 'daily', limit: 10_000_000, windowMs: 86_400_000 },
] as const;

/** An ioredis client to the bench Redis, connected before the server announces itself. */
export async function benchRedis(label: string): Promise<Redis> {
  const redis = new Redis(benchRedisUrl(), { lazyConnect: true });
  redis.on('error', (error) => console.error(`[${label}] redis:`, error.message));
  await redis.connect();
  return redis;
}
