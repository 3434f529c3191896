/**
 * The Koa Redis ceiling: Koa 3 where each request does exactly one EVALSHA (INCR + PEXPIRE)
 * through ioredis `defineCommand` and nothing else, as `express-raw-evalsha` for Express.
 */
import { createServer } from 'node:http';
import type { Redis } from 'ioredis';
import Koa from 'koa';
import { announce } from './support/announce.js';
import { benchRedis } from './support/rate-limit.js';

const INCR_EXPIRE_LUA = `
local rcall = redis.call
local n = rcall('INCR', KEYS[1])
rcall('PEXPIRE', KEYS[1], ARGV[1])
return n
`;
const COMMAND = 'keelBenchIncrExpire';
type BenchRedis = Redis & { [COMMAND](key: string, ttlMs: number): Promise<number> };

const redis = (await benchRedis('koa-raw-evalsha')) as BenchRedis;
redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: INCR_EXPIRE_LUA });

const app = new Koa();
app.use(async (ctx) => {
  if (ctx.method === 'GET' && ctx.path === '/') {
    const count = await redis[COMMAND]('keel-bench:{koa-ceiling}:counter', 60_000);
    ctx.body = { ok: true, count };
  }
});

await announce(createServer(app.callback()), () => redis.quit());
