// A CommonJS Express app, as most existing ones (and every connect-redis user's app.js) are:
// express-session with Keel's store, and a rate limit, all through require(). Prints
// `listening <port>`.
'use strict';

const express = require('express');
const session = require('express-session');
const { createRedisClient } = require('@keel/core');
const { rateLimit, SessionStore } = require('@keel/express');
const { createRedisStore } = require('@keel/rate-limit');

const redis = createRedisClient(process.env.REDIS_URL);
const prefix = process.env.KEEL_PREFIX;

const app = express();
app.use(
  session({
    store: new SessionStore({ client: redis, prefix: `${prefix}sess:`, indexPrefix: prefix }),
    secret: 'packed-install-test',
    resave: false,
    saveUninitialized: false,
  }),
);
app.post('/login', (req, res, next) => {
  req.session.user = 'ada';
  req.session.save((error) => (error ? next(error) : res.json({ user: 'ada' })));
});
app.get('/me', (req, res) => {
  if (req.session.user) res.json({ user: req.session.user });
  else res.status(401).json({ user: null });
});
app.get(
  '/limited',
  rateLimit({
    name: 'cjs',
    store: createRedisStore({ client: redis, prefix, deadlineMs: 2000 }),
    limit: 2,
    windowMs: 60_000,
  }),
  (_req, res) => res.json({ ok: true }),
);

const server = app.listen(0, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
