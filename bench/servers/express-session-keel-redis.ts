/**
 * express-session + Keel's SessionStore on Redis (ioredis), defaults as a connect-redis user
 * would switch: `/read` (one read script, which slides the TTL once it is a second behind; the
 * touch express-session then asks for needs no Redis call), `/write` (read script +
 * field-merge script); and `/lazy/read` with `touchAfter: 60` (slides at most once a minute).
 */
import { SessionStore } from '@keel/express';
import { KEEL_SID } from '../session-requests.js';
import { SESSION_PREFIX, serveSessionBench, sessionBenchRedis } from './support/session.js';

const redis = await sessionBenchRedis('express-session-keel-redis');
await serveSessionBench(
  KEEL_SID,
  [
    { mount: '/', store: new SessionStore({ client: redis, prefix: SESSION_PREFIX }) },
    {
      mount: '/lazy',
      store: new SessionStore({ client: redis, prefix: `${SESSION_PREFIX}lazy:`, touchAfter: 60 }),
    },
  ],
  redis,
);
