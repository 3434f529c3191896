/**
 * Issue 24 on a Redis Cluster of 3 masters with a replica each (cluster-node-timeout 2000 ms),
 * one cluster for the file: an operator's `CLUSTER FAILOVER` on the replica of one master, then
 * a crash (SIGKILL) of another, each under load on every feature, through Express and Koa.
 *
 * - Graceful, default settings: nothing acknowledged is lost (a manual failover pauses the
 *   master's writes until the replica has caught up, then moves the slots).
 * - Crash with `waitForReplicas: 1`: nothing acknowledged is lost either; default settings
 *   are measured alongside. The promoted master has no replica until the killed node rejoins
 *   (restarted, it becomes the new master's replica): durable writes to its slots answer 503
 *   until then, by design. Requests to the dead master's slots fail over the seconds the
 *   cluster needs to notice (failure policies, never a 500: "Too many Cluster redirections"
 *   and MOVED are outages).
 * - Either way, fencing tokens only rise, and no profile is served to another user.
 */
import { createRedisClient, type RedisClient } from '@keel/core';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  closeClient,
  failoverCluster,
  type RedisClusterHandle,
  rejoinAsReplica,
  startRedisCluster,
  waitUntilClientsMoved,
} from '../support/index.js';
import { expectAlwaysSafe, expectNothingLost, type Outcome, runFailover } from './scenario.js';

let topology: RedisClusterHandle;
let client: RedisClient;

beforeAll(async () => {
  topology = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  client = createRedisClient({ cluster: topology.startupNodes });
  await new Promise((resolve) => client.once('ready', resolve));
});

afterAll(async () => {
  if (client) await closeClient(client as Cluster);
  await topology?.stop();
});

describe('Cluster: graceful CLUSTER FAILOVER on a replica', () => {
  let outcome: Outcome | undefined;
  beforeAll(async () => {
    [outcome] = await runFailover(
      'Cluster graceful',
      client,
      [0],
      () => failoverCluster(topology, 'graceful', 0),
      (moved) => waitUntilClientsMoved([client as Cluster], moved),
    );
  }, 60_000);

  it('with default settings, loses no acknowledged login, order or lock', () => {
    expectNothingLost(outcome!);
  });

  it('answers every request, never serves another user a profile, keeps tokens rising', () => {
    expectAlwaysSafe(outcome!);
  });
});

describe('Cluster: SIGKILL of a master', () => {
  let durable: Outcome | undefined;
  let plain: Outcome | undefined;
  beforeAll(async () => {
    [durable, plain] = await runFailover(
      'Cluster crash',
      client,
      [1, 0],
      () => failoverCluster(topology, 'kill', 1, { replicaLagMs: 600 }),
      async (moved) => {
        await waitUntilClientsMoved([client as Cluster], moved);
        // The promoted master has no replica left to confirm durable writes: bring one back.
        await rejoinAsReplica(moved.from);
      },
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
