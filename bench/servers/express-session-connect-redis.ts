/**
 * express-session + connect-redis 8.1 (the last line that accepts ioredis) on the same Redis:
 * `/read` (GET + EXPIRE), `/write` (GET + SET EX). connect-redis 10 needs node-redis and
 * Node >= 22, so it has no row on this Node 20 machine.
 */
import { RedisStore } from 'connect-redis';
import { CONNECT_REDIS_SID } from '../session-requests.js';
import { SESSION_PREFIX, serveSessionBench, sessionBenchRedis } from './support/session.js';

const redis = await sessionBenchRedis('express-session-connect-redis');
await serveSessionBench(
  CONNECT_REDIS_SID,
  [{ mount: '/', store: new RedisStore({ client: redis, prefix: `${SESSION_PREFIX}cr:` }) }],
  redis,
);
