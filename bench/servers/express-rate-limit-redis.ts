/** Express 5 + express-rate-limit 8 with rate-limit-redis 6 (ioredis), one limiter. */
import { createServer } from 'node:http';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import { type RedisReply, RedisStore } from 'rate-limit-redis';
import { announce } from './support/announce.js';
import { benchRedis, MINUTE_MS, PER_MINUTE } from './support/rate-limit.js';

const redis = await benchRedis('express-rate-limit-redis');
const sendCommand = (command: string, ...args: string[]) =>
  redis.call(command, ...args) as Promise<RedisReply>;

const app = express();
app.use(
  rateLimit({
    windowMs: MINUTE_MS,
    limit: PER_MINUTE,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    store: new RedisStore({ sendCommand, prefix: 'keel-bench:erl:' }),
  }),
);
app.get('/', (_req, res) => {
  res.json({ ok: true, service: 'bench', items: [1, 2, 3] });
});

await announce(createServer(app), () => redis.quit());
