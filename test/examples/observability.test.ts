/**
 * The example apps' observability, both frameworks: `/metrics` serves Keel's metrics as
 * Prometheus text (and is not itself rate limited), `/admin/keel` and its stats are for admins
 * only, and with `OTEL_EXPORTER_OTLP_ENDPOINT` set the same metrics are exported as OTLP to a
 * receiver this test runs.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createData,
  createExampleTelemetry,
  createTokenSigner,
  type ExampleDeps,
  type OperatorSnapshot,
} from '@keel/example-shared';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApp as createExpressApp } from '../../examples/express-api/src/app.js';
import { createApp as createKoaApp } from '../../examples/koa-api/src/app.js';
import { parseExposition, sampleSum } from '../../packages/prometheus/test/support/exposition.js';
import { pinHost } from '../support/pin-host.js';

type App = Parameters<typeof request>[0];

const frameworks: [string, (deps: ExampleDeps) => App][] = [
  // One Host for every supertest request: the response cache keys on it.
  ['express', (deps) => pinHost(createExpressApp(deps))],
  ['koa', (deps) => pinHost(createKoaApp(deps).callback())],
];

const tokens = createTokenSigner({ secret: 'test-secret-test-secret-test-secret!' });
const bearer = (username: string) => `Bearer ${tokens.sign(username).token}`;

describe.each(frameworks)('%s example: metrics and the operator page', (_name, createApp) => {
  const makeApp = (deps: Partial<ExampleDeps> = {}) =>
    createApp({ data: createData({ catalogueDelayMs: 0 }), tokens, ...deps });

  it('serves Keel metrics at /metrics, counting the traffic but not the scrapes', async () => {
    const app = makeApp();
    await request(app).get('/catalogue').expect(200);
    await expect
      .poll(async () => {
        const text = (await request(app).get('/metrics').expect(200)).text;
        return sampleSum(parseExposition(text), 'keel_cache_writes_total', { outcome: 'stored' });
      })
      .toBe(1);
    await request(app).get('/catalogue').expect(200);
    await request(app)
      .post('/orders')
      .set('authorization', bearer('bob'))
      .set('idempotency-key', '"order-1"')
      .send({ items: [{ productId: 'p-espresso', quantity: 1 }] })
      .expect(201);

    const res = await request(app).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const scrape = parseExposition(res.text);
    const allowed = { limiter: 'global', outcome: 'allowed' };
    expect(sampleSum(scrape, 'keel_rate_limit_decisions_total', allowed)).toBe(3);
    expect(sampleSum(scrape, 'keel_cache_lookups_total', { outcome: 'hit' })).toBe(1);
    expect(sampleSum(scrape, 'keel_idempotency_requests_total', { outcome: 'claimed' })).toBe(1);
    // Scraping again changed nothing: /metrics sits in front of the limiter.
    const again = parseExposition((await request(app).get('/metrics')).text);
    expect(sampleSum(again, 'keel_rate_limit_decisions_total', allowed)).toBe(3);
  });

  it('keeps /admin/keel for admins: 401 without credentials, 403 for a customer', async () => {
    const app = makeApp();
    for (const path of ['/admin/keel', '/admin/keel/stats', '/admin/keel/operator.js']) {
      await request(app).get(path).expect(401);
      await request(app).get(path).set('authorization', bearer('bob')).expect(403);
    }
    const page = await request(app).get('/admin/keel').set('authorization', bearer('alice'));
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.text).toContain('<script src="/admin/keel/operator.js"></script>');
    const script = await request(app)
      .get('/admin/keel/operator.js')
      .set('authorization', bearer('alice'));
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect(script.text).toContain('/admin/keel/stats');
  });

  it('answers the page polls with totals from the registry', async () => {
    const app = makeApp();
    await request(app).get('/catalogue').expect(200);
    const stats = async () =>
      (
        await request(app)
          .get('/admin/keel/stats')
          .set('authorization', bearer('alice'))
          .expect(200)
      ).body as OperatorSnapshot;
    await expect.poll(async () => (await stats()).cache.miss).toBe(1);
    await request(app).get('/catalogue').expect(200);
    const snapshot = await stats();
    expect(snapshot.cache).toEqual({ hit: 1, miss: 1, stale: 0, bypass: 0 });
    expect(snapshot.rateLimit).toEqual({ allowed: 2, limited: 0 });
    expect(snapshot.store).toEqual({
      all: { bounds: [], counts: [], count: 0, sum: 0, errors: 0 },
      features: {},
    });
  });
});

/** A stand-in OTLP/HTTP receiver: records each export request's path and JSON body. */
async function otlpReceiver() {
  const received: { path: string; type: string; body: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        type: req.headers['content-type'] ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, close: () => server.close() };
}

describe.each(frameworks)('%s example with OTEL_EXPORTER_OTLP_ENDPOINT', (_name, createApp) => {
  it('exports Keel metrics as OTLP to the endpoint', async () => {
    const receiver = await otlpReceiver();
    const telemetry = createExampleTelemetry({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_METRIC_EXPORT_INTERVAL: '100',
    });
    expect(telemetry.otlpUrl).toBe(`${receiver.url}/v1/metrics`);
    const app = createApp({ data: createData({ catalogueDelayMs: 0 }), tokens, telemetry });
    await request(app).get('/catalogue').expect(200);
    await expect
      .poll(() => receiver.received.find((r) => r.body.includes('keel.rate_limit.decisions')), {
        timeout: 5_000,
      })
      .toBeDefined();
    const exported = receiver.received.find((r) => r.body.includes('keel.rate_limit.decisions'))!;
    expect(exported.path).toBe('/v1/metrics');
    expect(exported.type).toMatch(/^application\/json/);
    expect(exported.body).toContain('keel.rate_limit.limiter');
    await telemetry.shutdown();
    receiver.close();
  });
});
