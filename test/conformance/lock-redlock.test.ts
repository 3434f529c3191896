import { createLock } from '@keel/lock';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import {
  cleanupPrefix,
  createTestRedis,
  type RedisServerGroup,
  startRedisServers,
  testPrefix,
} from '../support/index.js';
import { describeLockConformance } from './lock.js';

let group: RedisServerGroup;
let clients: Redis[];
beforeAll(async () => {
  group = await startRedisServers(3);
  clients = group.urls.map((url) => createTestRedis({ url }));
});
afterAll(async () => {
  await group?.stop();
});

describeLockConformance('3-node Redlock', () => {
  const prefix = testPrefix();
  const counterKey = `${prefix}counter`;
  const counter = clients[0]!;
  return {
    create: (options) => createLock({ ...options, clients, prefix }),
    readCounter: async () => Number((await counter.get(counterKey)) ?? 0),
    writeCounter: async (value) => {
      await counter.set(counterKey, value);
    },
    cleanup: async () => {
      await Promise.all(clients.map((client) => cleanupPrefix(client, prefix)));
    },
  };
});
