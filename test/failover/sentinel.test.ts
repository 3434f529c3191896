/**
 * Issue 24 on Sentinel (1 master, 2 replicas, 3 sentinels, down-after 1000 ms), one topology
 * for the file: a crash (SIGKILL of the master) and then an operator's `SENTINEL FAILOVER`,
 * each under load on every feature, through Express and Koa.
 *
 * - Graceful, default settings: nothing Keel acknowledged is lost. Without Keel's failover
 *   fence, the old master took writes for about a second after the promotion and discarded
 *   them when Sentinel demoted it.
 * - Crash with `waitForReplicas: 1`: nothing acknowledged is lost either. The same crash with
 *   default settings is measured alongside (what it loses is only what had not reached a
 *   replica when the master died).
 * - Either way, fencing tokens only rise, and no profile is served to another user.
 */
import { createRedisClient, type RedisClient } from '@keel/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  closeClient,
  failoverSentinel,
  type RedisSentinelHandle,
  startRedisSentinel,
  waitUntilClientsMoved,
} from '../support/index.js';
import { expectAlwaysSafe, expectNothingLost, type Outcome, runFailover } from './scenario.js';

let topology: RedisSentinelHandle;
let client: RedisClient;

beforeAll(async () => {
  topology = await startRedisSentinel();
  client = createRedisClient({ redis: { sentinels: topology.sentinels, name: topology.name } });
  await new Promise((resolve) => client.once('ready', resolve));
});

afterAll(async () => {
  if (client) await closeClient(client as Redis);
  await topology?.stop();
});

describe('Sentinel: SIGKILL of the master', () => {
  let durable: Outcome | undefined;
  let plain: Outcome | undefined;
  beforeAll(async () => {
    [durable, plain] = await runFailover(
      'Sentinel crash',
      client,
      [1, 0],
      () => failoverSentinel(topology, 'kill', { replicaLagMs: 600 }),
      (moved) => waitUntilClientsMoved([client as Redis], moved),
    );
  }, 60_000);

  it('with waitForReplicas: 1, loses no acknowledged login, order or lock', () => {
    expectNothingLost(durable!);
  });

  it('answers every request, never serves another user a profile, keeps tokens rising', () => {
    expectAlwaysSafe(durable!);
    expectAlwaysSafe(plain!);
  });
});

describe('Sentinel: graceful SENTINEL FAILOVER', () => {
  let outcome: Outcome | undefined;
  beforeAll(async () => {
    [outcome] = await runFailover(
      'Sentinel graceful',
      client,
      [0],
      () => failoverSentinel(topology, 'graceful'),
      (moved) => waitUntilClientsMoved([client as Redis], moved),
    );
  }, 60_000);

  it('with default settings, loses no acknowledged login, order or lock', () => {
    expectNothingLost(outcome!);
  });

  it('answers every request, never serves another user a profile, keeps tokens rising', () => {
    expectAlwaysSafe(outcome!);
  });
});
