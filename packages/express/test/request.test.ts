import type { KeelRequest } from '@keel/core';
import express, { type Request } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { toKeelRequest } from '../src/index.js';

function appSeeing(setup: (app: express.Express, seen: KeelRequest<Request>[]) => void) {
  const app = express();
  const seen: KeelRequest<Request>[] = [];
  setup(app, seen);
  return { app, seen };
}

describe('express toKeelRequest', () => {
  it('fills method, path, search, headers, peer address and the route pattern', async () => {
    const { app, seen } = appSeeing((app, seen) => {
      const router = express.Router();
      router.get('/orders/:id', (req, res) => {
        seen.push(toKeelRequest(req));
        res.end();
      });
      app.use('/api', router);
    });
    await request(app).get('/api/orders/42?b=2&a=1').set('X-Thing', 'yes').expect(200);
    const req = seen[0]!;
    expect(req.method).toBe('GET');
    expect(req.path).toBe('/api/orders/42');
    expect(req.route).toBe('/api/orders/:id');
    expect(req.search).toBe('b=2&a=1');
    expect(req.headers['x-thing']).toBe('yes');
    expect(req.remoteAddress).toMatch(/127\.0\.0\.1|::1/);
    expect(req.raw).toBeDefined();
  });

  it('knows whether a body parser ran, and keeps raw bytes from express.raw()', async () => {
    const { app, seen } = appSeeing((app, seen) => {
      app.post('/none', (req, res) => {
        seen.push(toKeelRequest(req));
        res.end();
      });
      app.post('/json', express.json(), (req, res) => {
        seen.push(toKeelRequest(req));
        res.end();
      });
      app.post('/raw', express.raw({ type: '*/*' }), (req, res) => {
        seen.push(toKeelRequest(req));
        res.end();
      });
    });
    await request(app).post('/none').send({ a: 1 }).expect(200);
    await request(app).post('/json').send({ a: 1 }).expect(200);
    await request(app)
      .post('/raw')
      .set('Content-Type', 'image/png')
      .send(Buffer.from([1, 2, 3]))
      .expect(200);
    expect(seen[0]!.bodyParsed).toBe(false);
    expect(seen[0]!.route).toBe('/none');
    expect(seen[1]!.bodyParsed).toBe(true);
    expect(seen[1]!.body).toEqual({ a: 1 });
    expect(seen[1]!.rawBody).toBeUndefined();
    expect([...seen[2]!.rawBody!]).toEqual([1, 2, 3]);
  });

  it('has no route pattern in app-level middleware', async () => {
    const { app, seen } = appSeeing((app, seen) => {
      app.use((req, _res, next) => {
        seen.push(toKeelRequest(req));
        next();
      });
      app.get('/x', (_req, res) => res.end());
    });
    await request(app).get('/x').expect(200);
    expect(seen[0]!.route).toBeUndefined();
    expect(seen[0]!.path).toBe('/x');
  });
});
