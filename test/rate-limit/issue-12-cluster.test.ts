/**
 * Issue 12, rate limit on the shared 3-master Redis Cluster. A Cluster node is not stopped
 * here (the cluster is shared by the whole run), so the stall is a blackhole: a fault proxy in
 * front of every master (ioredis `natMap` sends the slot map's addresses through them) holds
 * every byte for 300 ms and then delivers them, as a stalled and resumed server would.
 */
import { createRedisClient, type FailurePolicy, type RedisClient } from '@keel/core';
import { ALGORITHM_NAMES, createRateLimiter, createRedisStore } from '@keel/rate-limit';
import type { Cluster } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupPrefix,
  closeClient,
  clusterNodes,
  createTestCluster,
  type FaultProxy,
  startFaultProxy,
  testPrefix,
} from '../support/index.js';
import {
  drain,
  request as keelRequest,
  loadThroughFault,
  policyOf,
  stalledLimiter,
  unitsHeld,
} from './stall.js';

const FAILURE_POLICIES: FailurePolicy[] = ['open', 'closed', 'fallback'];

const proxies: FaultProxy[] = [];
const clients: RedisClient[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  for (const p of proxies) p.heal();
  await Promise.all(clients.splice(0).map((c) => closeClient(c)));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  if (prefixes.length > 0) {
    const admin = await createTestCluster();
    await Promise.all(prefixes.splice(0).map((prefix) => cleanupPrefix(admin, prefix)));
  }
});

function newPrefix(): string {
  const prefix = testPrefix();
  prefixes.push(prefix);
  return prefix;
}

function ready(client: RedisClient): Promise<unknown> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => client.once('ready', resolve));
}

/** A Cluster client whose every connection, slot map included, goes through a fault proxy. */
async function proxiedCluster(): Promise<{
  client: Cluster;
  blackhole: () => void;
  heal: () => void;
}> {
  const natMap: Record<string, { host: string; port: number }> = {};
  for (const node of clusterNodes()) {
    const proxy = await startFaultProxy(node);
    proxies.push(proxy);
    natMap[`${node.host}:${node.port}`] = { host: proxy.host, port: proxy.port };
  }
  const client = createRedisClient({
    cluster: Object.values(natMap),
    clusterOptions: { natMap },
    maxReconnectDelayMs: 50,
  }) as Cluster;
  clients.push(client);
  await ready(client);
  return {
    client,
    blackhole: () => {
      for (const p of proxies) p.blackhole();
    },
    heal: () => {
      for (const p of proxies) p.heal();
    },
  };
}

const pingMasters = (client: Cluster) => () =>
  Promise.all(client.nodes('master').map((node) => node.ping()));

describe.each(FAILURE_POLICIES)(
  'Cluster: a 300 ms blackhole under load, failurePolicy %s',
  (failurePolicy) => {
    it.each(ALGORITHM_NAMES)(
      '%s: Redis holds exactly the requests the Redis store decided',
      async (algorithm) => {
        const { client, blackhole, heal } = await proxiedCluster();
        const prefix = newPrefix();
        const { limiter, fallback, seen, policy } = stalledLimiter(
          client,
          prefix,
          algorithm,
          failurePolicy,
        );
        const probe = createRedisStore({ client, prefix, deadlineMs: 5000, breaker: false });
        expect(await unitsHeld(probe, policy)).toBe(0);
        // Every connection the limiter uses goes through a proxy, so the blackhole reaches it.
        expect(proxies.reduce((n, p) => n + p.connections, 0)).toBeGreaterThan(0);

        const tally = await loadThroughFault(limiter, { inject: blackhole, heal });
        await drain(pingMasters(client));

        const timeouts = seen.filter(
          (e) => e.name === 'store.call' && e.attributes.outcome === 'timeout',
        ).length;
        expect(timeouts).toBeGreaterThan(0);
        expect(tally.storeAllowed).toBeGreaterThan(0);
        expect(await unitsHeld(probe, policy)).toBe(tally.storeAllowed);
        if (failurePolicy === 'fallback') {
          expect(await unitsHeld(fallback, policy)).toBe(tally.fallbackAllowed);
        } else {
          expect(tally.failurePolicyAllowed + tally.failurePolicyRefused).toBeGreaterThan(0);
        }
      },
    );
  },
);

describe('Cluster cold start: the client is still connecting', () => {
  describe.each(FAILURE_POLICIES)('failurePolicy %s', (failurePolicy) => {
    it.each(ALGORITHM_NAMES)(
      '%s: the first window admits exactly the limit, all decided by Redis',
      async (algorithm) => {
        const client = createRedisClient({ cluster: clusterNodes() });
        clients.push(client);
        expect(client.status).not.toBe('ready');
        const prefix = newPrefix();
        const name = `cold-${algorithm}`;
        const limiter = createRateLimiter({
          name,
          // A Cluster connects in several steps (slot map, then nodes): give it room.
          store: createRedisStore({ client, prefix, deadlineMs: 3000, breaker: false }),
          limit: 5,
          windowMs: 10_000_000_000,
          algorithm,
          failurePolicy,
          keyGenerator: () => 'cold-client',
        });
        const decisions = await Promise.all(
          Array.from({ length: 10 }, () => limiter.check(keelRequest())),
        );
        expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
        expect(decisions.map((d) => d.source)).toEqual(Array(10).fill('store'));
        const probe = createRedisStore({ client, prefix, deadlineMs: 5000 });
        expect(await unitsHeld(probe, policyOf(name, algorithm, 5), 'cold-client')).toBe(5);
      },
    );
  });
});
