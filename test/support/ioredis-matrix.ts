/**
 * The other ioredis-API clients of the client matrix (issue 20): ioredis 6 (the `ioredis-6`
 * alias) and iovalkey, on the same shared servers as createTestRedis, with each client's own
 * defaults, closed the same way.
 */
import { Redis as Ioredis6 } from 'ioredis-6';
import { Redis as Iovalkey } from 'iovalkey';
import { afterAll, onTestFinished } from 'vitest';
import { redisUrl } from './clients.js';

type Closable = { quit(): Promise<unknown>; disconnect(): void; status: string };

/** An ioredis 6 client to the shared standalone Redis (or `url`, e.g. a fault proxy's), ready. */
export async function createTestIoredis6(url = redisUrl()): Promise<Ioredis6> {
  return ready(new Ioredis6(url));
}

/** An iovalkey client to the shared standalone Redis, ready. */
export async function createTestIovalkey(): Promise<Iovalkey> {
  return ready(new Iovalkey(redisUrl()));
}

async function ready<
  C extends Closable & {
    on(e: string, l: () => void): unknown;
    once(e: string, l: () => void): unknown;
  },
>(client: C): Promise<C> {
  client.on('error', () => {});
  const close = async () => {
    if (client.status === 'end') return;
    const timer = new Promise((resolve) => setTimeout(resolve, 1000).unref());
    await Promise.race([client.quit().catch(() => {}), timer]);
    client.disconnect();
  };
  try {
    onTestFinished(close);
  } catch {
    afterAll(close);
  }
  if (client.status !== 'ready')
    await new Promise<void>((resolve) => client.once('ready', resolve));
  return client;
}
