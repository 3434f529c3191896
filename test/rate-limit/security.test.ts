/**
 * Who shares a bucket, over HTTP on both frameworks: IPv6 clients rotating addresses inside
 * their /56 share one; IPv4-mapped clients do not collapse into one; a spoofed X-Forwarded-For
 * from an untrusted peer changes nothing; and a client key cannot pick a Redis Cluster slot.
 */
import { createHash } from 'node:crypto';
import { headerValue } from '@keel/core';
import { createRateLimiter, createRedisStore, type RateLimiterOptions } from '@keel/rate-limit';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupPrefix, createTestCluster, testPrefix } from '../support/index.js';
import { frameworks } from './apps.js';

const limit1 = (extra: RateLimiterOptions = {}): RateLimiterOptions => ({
  name: 'sec',
  limit: 1,
  windowMs: 60_000,
  ...extra,
});

describe.each(frameworks)('client identity for rate limits on %s', (_name, makeApp) => {
  it('IPv6 rotation inside a /56 shares one bucket; another /56 does not', async () => {
    const app = makeApp({ global: limit1({ identity: { trustProxy: 'loopback' } }) });
    await request(app).get('/ok').set('x-forwarded-for', '2001:db8:ab:cd00::1').expect(200);
    await request(app).get('/ok').set('x-forwarded-for', '2001:db8:ab:cdff:ffff::9').expect(429);
    await request(app).get('/ok').set('x-forwarded-for', '2001:db8:ab:cd12:1:2:3:4').expect(429);
    await request(app).get('/ok').set('x-forwarded-for', '2001:db8:ab:ce00::1').expect(200);
  });

  it('IPv4-mapped IPv6 clients keep one bucket per IPv4 address', async () => {
    const app = makeApp({ global: limit1({ identity: { trustProxy: 'loopback' } }) });
    await request(app).get('/ok').set('x-forwarded-for', '::ffff:198.51.100.1').expect(200);
    await request(app).get('/ok').set('x-forwarded-for', '::ffff:198.51.100.2').expect(200);
    await request(app).get('/ok').set('x-forwarded-for', '::ffff:198.51.100.3').expect(200);
    // The mapped and plain forms of one address are one client.
    await request(app).get('/ok').set('x-forwarded-for', '198.51.100.1').expect(429);
  });

  it('ignores a spoofed X-Forwarded-For from an untrusted peer', async () => {
    const app = makeApp({ global: limit1({ warnings: false }) });
    await request(app).get('/ok').set('x-forwarded-for', '203.0.113.1').expect(200);
    await request(app).get('/ok').set('x-forwarded-for', '203.0.113.2').expect(429);
    await request(app).get('/ok').set('forwarded', 'for=203.0.113.3').expect(429);
  });

  it('with one trusted proxy, only the hop it appended counts', async () => {
    const app = makeApp({ global: limit1({ identity: { trustProxy: 1 } }) });
    await request(app).get('/ok').set('x-forwarded-for', '198.51.100.7, 203.0.113.9').expect(200);
    // The client chose a different left part; the proxy's entry is the same client.
    await request(app).get('/ok').set('x-forwarded-for', '10.0.0.1, 203.0.113.9').expect(429);
  });
});

describe('client keys and Redis Cluster slots', () => {
  let cleanup: (() => Promise<unknown>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('a key with {…} cannot choose the slot: keys carry the hash of the whole client key', async () => {
    const client = await createTestCluster();
    const prefix = testPrefix();
    cleanup = () => cleanupPrefix(client, prefix);
    // Not a deadline test: a loaded machine's slow call must not send a check to the fallback.
    const store = createRedisStore({ client, prefix, deadlineMs: 2000 });
    const limiter = createRateLimiter({
      name: 'slots',
      store,
      policies: [
        { name: 'burst', limit: 5, windowMs: 1000, algorithm: 'gcra' },
        { name: 'hourly', limit: 50, windowMs: 3_600_000 },
      ],
      keyGenerator: (req) => headerValue(req.headers, 'x-api-key') ?? '',
    });
    const [name, app] = frameworks[0]!;
    expect(name).toBe('express');
    const server = app({ global: limiter });
    const chosen = ['{victim}', 'x{victim}y', '{}', '{{victim}}'];
    for (const key of chosen) await request(server).get('/ok').set('x-api-key', key).expect(200);

    const keys: string[] = [];
    for (const node of client.nodes('master')) keys.push(...(await node.keys(`${prefix}*`)));
    expect(keys).toHaveLength(chosen.length * 2);
    for (const key of keys) {
      expect(key).toMatch(
        new RegExp(`^${prefix}rl:\\{[A-Za-z0-9_-]{22}\\}:slots:(burst:gcra|hourly:sw)$`),
      );
      expect(key).not.toContain('victim');
    }
    const tags = new Set(keys.map((k) => /\{([^}]*)\}/.exec(k)![1]));
    expect(tags).toEqual(
      new Set(chosen.map((k) => createHash('sha256').update(k).digest('base64url').slice(0, 22))),
    );
  });
});
