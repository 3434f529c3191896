/**
 * The Redis ceiling: Express 5 where each request does exactly one EVALSHA through ioredis
 * `defineCommand` and nothing else. No Redis-backed feature that keeps to one round trip per
 * decision can beat this row; the gap between a feature and this row is the feature's own cost.
 */
import { createServer } from 'node:http';
import express from 'express';
import { Redis } from 'ioredis';
import { announce, benchRedisUrl } from './support/announce.js';

/*
 * --[[ incr-expire-1
 *   KEYS[1]  counter key
 *   ARGV[1]  ttl, ms
 *   returns  the counter after the increment
 * ]]
 */
const INCR_EXPIRE_LUA = `
local rcall = redis.call
local n = rcall('INCR', KEYS[1])
rcall('PEXPIRE', KEYS[1], ARGV[1])
return n
`;

const COMMAND = 'keelBenchIncrExpire';
const KEY = 'keel-bench:{ceiling}:counter';
const TTL_MS = 60_000;

type BenchRedis = Redis & {
  [COMMAND](key: string, ttlMs: number): Promise<number>;
};

const redis = new Redis(benchRedisUrl(), { lazyConnect: true }) as BenchRedis;
redis.on('error', (error) => console.error('[express-raw-evalsha] redis:', error.message));
redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: INCR_EXPIRE_LUA });
await redis.connect();

const app = express();
app.get('/', async (_req, res) => {
  const count = await redis[COMMAND](KEY, TTL_MS);
  res.json({ ok: true, count });
});

await announce(createServer(app), () => redis.quit());
