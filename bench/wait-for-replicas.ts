/**
 * `npx tsx bench/wait-for-replicas.ts`: what `waitForReplicas` costs a durable write. One
 * private Sentinel topology (master, 2 replicas, 3 sentinels) on this host; sequential store
 * calls of a one-key INCR script through core's store caller, with 0, 1 and 2 replicas to wait
 * for, two passes (the first warms up). Prints p50 and p99 per setting. On one host a replica
 * answers WAIT within microseconds; over a network add its round trip.
 */
import { createRedisClient, setupRedisStore } from '@keel/core';
import { closeClient } from '../test/support/clients.js';
import { startRedisSentinel } from '../test/support/redis-sentinel.js';

const CALLS = 3000;
const incr = { name: 'incr', numberOfKeys: 1, lua: "return redis.call('INCR', KEYS[1])" };
const spec = {
  component: 'bench',
  feature: 'bench',
  short: 'bench',
  version: '0',
  defaultDeadlineMs: 1000,
  evictionImpact: undefined,
  durableOperations: ['write'],
};

const topology = await startRedisSentinel();
const client = createRedisClient({ redis: { sentinels: topology.sentinels, name: topology.name } });
try {
  await new Promise((resolve) => client.once('ready', resolve));
  for (const pass of ['warm-up', 'measured']) {
    for (const replicas of [0, 1, 2]) {
      const store = setupRedisStore({ client, waitForReplicas: replicas, breaker: false }, spec);
      const times: number[] = [];
      for (let i = 0; i < CALLS; i++) {
        const started = performance.now();
        await store.call('write', (a) => store.runner.run(incr, ['keel-bench:wait'], [], a));
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      const us = (q: number) => Math.round(times[Math.floor(CALLS * q)]! * 1000);
      console.log(`${pass}: waitForReplicas ${replicas}: p50 ${us(0.5)} µs, p99 ${us(0.99)} µs`);
    }
  }
  await client.del('keel-bench:wait');
} finally {
  await closeClient(client as never);
  await topology.stop();
}
