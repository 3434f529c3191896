/**
 * Issue 19 item 7: a full rate-limit memory store stopped counting new clients. With 500,000
 * distinct clients against 100,000 counters, 400,000 requests passed uncounted: a client that
 * rotates keys turned the limit off for every newcomer. Now a full store evicts the counters
 * nearest to expiry, warns once (`memoryStoreFull`) and emits `rate-limit.evicted`, and every
 * client keeps its limit: its request past the limit is a 429 problem+json, and the handler
 * does not run. Express and Koa, at a small scale (`maxEntries` 40), on the manual clock.
 */
import { createEvents, createManualClock, headerValue, type KeelEvent } from '@keel/core';
import * as keelExpress from '@keel/express';
import * as keelKoa from '@keel/koa';
import {
  createMemoryStore,
  type MemoryRateLimitStore,
  QUOTA_EXCEEDED_TYPE,
  type RateLimiterOptions,
} from '@keel/rate-limit';
import express from 'express';
import Koa from 'koa';
import request from 'supertest';
import { describe, expect, it } from 'vitest';

type Server = Parameters<typeof request>[0];
type MakeApp = (options: RateLimiterOptions, runs: { count: number }) => Server;

const frameworks: [string, MakeApp][] = [
  [
    'express',
    (options, runs) => {
      const app = express();
      app.use(keelExpress.rateLimit(options));
      app.get('/ok', (_req, res) => {
        runs.count++;
        res.json({ ok: true });
      });
      return app;
    },
  ],
  [
    'koa',
    (options, runs) => {
      const app = new Koa();
      app.use(keelKoa.rateLimit(options));
      app.use((ctx) => {
        runs.count++;
        ctx.body = { ok: true };
      });
      return app.callback();
    },
  ],
];

const MAX_ENTRIES = 40;

function setup(makeApp: MakeApp, policies: RateLimiterOptions['policies']) {
  const clock = createManualClock(1_700_000_000_000);
  const seen: KeelEvent[] = [];
  const events = createEvents((event) => seen.push(event));
  const store: MemoryRateLimitStore = createMemoryStore({
    maxEntries: MAX_ENTRIES,
    clock,
    events,
    warnings: { memoryStoreFull: true },
  });
  const runs = { count: 0 };
  const app = makeApp(
    {
      store,
      policies,
      clock,
      keyGenerator: (req) => headerValue(req.headers, 'x-client') ?? 'anonymous',
    },
    runs,
  );
  const get = (client: string) => request(app).get('/ok').set('x-client', client);
  return { clock, seen, store, runs, get };
}

describe.each(frameworks)('%s: a full rate-limit memory store', (_name, makeApp) => {
  it('keeps counting newcomers past capacity: each gets its 429 at its limit, the handler not run', async () => {
    const s = setup(makeApp, [{ name: 'minute', limit: 2, windowMs: 60_000 }]);
    const clients = Array.from({ length: MAX_ENTRIES * 4 }, (_, i) => `client-${i}`);
    for (const client of clients) {
      s.clock.advance(10);
      expect((await s.get(client)).status).toBe(200);
      expect((await s.get(client)).status).toBe(200);
      const third = await s.get(client);
      expect(third.status, client).toBe(429);
      expect(third.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(third.body).toMatchObject({ type: QUOTA_EXCEEDED_TYPE, status: 429 });
    }
    // Two handler runs per client; none for the 160 refusals.
    expect(s.runs.count).toBe(clients.length * 2);
    expect(s.store.size).toBeLessThanOrEqual(MAX_ENTRIES);
    const evicted = s.seen.filter((e) => e.name === 'rate-limit.evicted');
    expect(evicted.length).toBeGreaterThan(0);
    expect(evicted.reduce((sum, e) => sum + (e.attributes.evicted as number), 0)).toBe(
      clients.length - MAX_ENTRIES,
    );
    const warnings = s.seen.filter((e) => e.name === 'keel.warning');
    expect(warnings.map((e) => e.attributes.warning)).toEqual(['memoryStoreFull']);
  });

  it('a client rotating keys cannot turn the limit off for a newcomer', async () => {
    const s = setup(makeApp, [{ name: 'minute', limit: 3, windowMs: 60_000 }]);
    for (let i = 0; i < MAX_ENTRIES * 5; i++) {
      s.clock.advance(1);
      expect((await s.get(`rotating-${i}`)).status).toBe(200);
    }
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await s.get('newcomer')).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(s.runs.count).toBe(MAX_ENTRIES * 5 + 3);
  });

  it('evicts the counters nearest to expiry: an hourly counter outlives churn of per-second ones', async () => {
    const s = setup(makeApp, [
      { name: 'second', limit: 100, windowMs: 1_000 },
      { name: 'hour', limit: 2, windowMs: 3_600_000 },
    ]);
    expect((await s.get('patient')).status).toBe(200);
    expect((await s.get('patient')).status).toBe(200);
    // 25 newcomers need 50 counters, 12 more than the 38 left: per-second ones make room.
    for (let i = 0; i < 25; i++) {
      s.clock.advance(5);
      expect((await s.get(`burst-${i}`)).status).toBe(200);
    }
    expect(s.seen.some((e) => e.name === 'rate-limit.evicted')).toBe(true);
    const refused = await s.get('patient');
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ type: QUOTA_EXCEEDED_TYPE });
    expect(s.runs.count).toBe(27);
  });
});
