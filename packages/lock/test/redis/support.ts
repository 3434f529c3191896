import {
  createEvents,
  createRedisClient,
  type KeelEvent,
  type KeelEventMap,
  type KeelEventName,
  type RedisClient,
} from '@keel/core';
import type { Redis } from 'ioredis';
import { type FaultProxy, redisUrl, startFaultProxy } from '../../../../test/support/index.js';

/** A client built as the README recommends, through a fault proxy to the shared Redis. */
export async function proxiedClient(): Promise<{
  proxy: FaultProxy;
  client: Redis;
  close(): Promise<void>;
}> {
  const target = new URL(redisUrl());
  const proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
  const client = createRedisClient({
    url: proxy.url,
    maxReconnectDelayMs: 20,
    // Resets are the point of these tests: keep their client errors out of the log.
    events: createEvents(() => {}),
  }) as Redis;
  await ready(client);
  return {
    proxy,
    client,
    close: async () => {
      proxy.resetAll();
      client.disconnect();
      await proxy.close();
    },
  };
}

export function ready(client: RedisClient): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

/** Events recorded in order, plus an optional reaction to each. */
export function recorder(onEvent?: (event: KeelEvent) => void) {
  const seen: KeelEvent[] = [];
  const events = createEvents((event) => {
    seen.push(event);
    onEvent?.(event);
  });
  return { events, seen, names: () => seen.map((e) => e.name) };
}

/** The event's attributes when it is named `name`, else undefined (events are not a tagged union). */
export function attributesOf<N extends KeelEventName>(
  event: KeelEvent,
  name: N,
): KeelEventMap[N] | undefined {
  return event.name === name ? (event.attributes as KeelEventMap[N]) : undefined;
}
