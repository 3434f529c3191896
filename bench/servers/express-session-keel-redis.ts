/**
 * express-session + Keel's SessionStore on Redis (ioredis), defaults as a connect-redis user
 * would switch: `/read` (get + touch script), `/write` (get + field-merge script); and
 * `/lazy/read` with `touchAfter: 60` (a read within a minute of the last touch is one GET-like
 * script, no touch).
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
