/**
 * Express 5 + three chained express-rate-limit 8 limiters on rate-limit-redis 6 (burst,
 * hourly, daily): how three policies are done without atomic multi-policy checks, one round
 * trip per limiter.
 */
import { createServer } from 'node:http';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import { type RedisReply, RedisStore } from 'rate-limit-redis';
import { announce } from './support/announce.js';
import { benchRedis, THREE_POLICIES } from './support/rate-limit.js';

const redis = await benchRedis('express-rate-limit-redis-chained-3');
const sendCommand = (command: string, ...args: string[]) =>
  redis.call(command, ...args) as Promise<RedisReply>;

const app = express();
for (const policy of THREE_POLICIES) {
  app.use(
    rateLimit({
      windowMs: policy.windowMs,
      limit: policy.limit,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      identifier: policy.name,
      store: new RedisStore({ sendCommand, prefix: `keel-bench:erl3:${policy.name}:` }),
    }),
  );
}
app.get('/', (_req, res) => {
  res.json({ ok: true, service: 'bench', items: [1, 2, 3] });
});

await announce(createServer(app), () => redis.quit());
