/**
 * What `pnpm start` runs for either framework: builds the app's dependencies (Redis when
 * `REDIS_URL` is set, memory otherwise), listens, prints the mode, demo users and curl commands,
 * and shuts down cleanly on SIGINT/SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import { setTimeout } from 'node:timers/promises';
import { createRedisClient, type RedisClient } from '@keel/core';
import type { Redis } from 'ioredis';
import { createTokenSigner, type TokenSigner } from './auth.js';
import { createData, type Data, DEMO_USERS } from './data.js';
import { createExampleTelemetry, type ExampleTelemetry } from './telemetry.js';

/** What every example app is built from. */
export interface ExampleDeps {
  data: Data;
  tokens: TokenSigner;
  /** Present in Redis mode. */
  redis?: Redis | undefined;
  /** Prefix of Keel's Redis keys (rate limits, idempotency records, cache). @default 'keel:' */
  keyPrefix?: string | undefined;
  /** Where Keel's events are recorded (`/metrics`, the operator page, OTLP). @default a fresh one */
  telemetry?: ExampleTelemetry | undefined;
}

export interface ServeOptions {
  framework: 'Express' | 'Koa';
  defaultPort: number;
  listener: (deps: ExampleDeps) => RequestListener;
}

export function serveExample({ framework, defaultPort, listener }: ServeOptions): void {
  const port = Number(process.env.PORT ?? defaultPort);
  const redisUrl = process.env.REDIS_URL || undefined;
  // Tokens signed with a random key die with the process; set TOKEN_SECRET to keep them.
  const secret = process.env.TOKEN_SECRET || randomBytes(32).toString('base64url');
  const redis = redisUrl ? (createRedisClient(redisUrl) as Redis) : undefined;
  // Prometheus at /metrics always; OTLP too when OTEL_EXPORTER_OTLP_ENDPOINT is set.
  const telemetry = createExampleTelemetry();

  const server = createServer(
    listener({ data: createData(), tokens: createTokenSigner({ secret }), redis, telemetry }),
  );
  server.listen(port, () => {
    const base = `http://localhost:${port}`;
    const mode = redis
      ? `redis mode (${redacted(redisUrl!)})`
      : 'memory mode (set REDIS_URL for Redis)';
    console.log(`Keel example (${framework}) listening on ${base}, ${mode}`);
    const otlp = telemetry.otlpUrl ? `, OTLP metrics to ${telemetry.otlpUrl}` : '';
    console.log(`Metrics: ${base}/metrics${otlp}; operator page (admin): ${base}/admin/keel`);
    console.log('\nDemo users:');
    for (const user of DEMO_USERS) {
      console.log(
        `  ${user.username.padEnd(6)} password: ${user.password.padEnd(11)} (${user.role})`,
      );
    }
    console.log(`
Try:
  curl -s ${base}/health
  curl -s ${base}/catalogue
  TOKEN=$(curl -s -X POST ${base}/login -H 'content-type: application/json' \\
    -d '{"username":"bob","password":"builder"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).token')
  curl -s ${base}/me -H "authorization: Bearer $TOKEN"
  curl -s -X POST ${base}/orders -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
    -d '{"items":[{"productId":"p-espresso","quantity":2}]}'
  curl -s ${base}/orders -H "authorization: Bearer $TOKEN"
  curl -s -X POST ${base}/orders/<id>/pay -H "authorization: Bearer $TOKEN"
`);
    if (redis) void reportRedis(redis);
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: shutting down`);
    server.close();
    server.closeAllConnections();
    redis?.quit().catch(() => redis?.disconnect());
    telemetry.shutdown().catch(() => {});
    globalThis.setTimeout(() => process.exit(0), 1000).unref();
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

/** Say once whether Redis answered; the server runs either way (/health reports 503 until then). */
async function reportRedis(client: RedisClient): Promise<void> {
  if (client.status !== 'ready') {
    await Promise.race([once(client, 'ready'), setTimeout(2000)]).catch(() => {});
  }
  console.log(
    client.status === 'ready'
      ? '[redis] connected'
      : '[redis] not reachable yet: GET /health answers 503 until it is',
  );
}

/** The URL without its password, for logs. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable REDIS_URL)';
  }
}
