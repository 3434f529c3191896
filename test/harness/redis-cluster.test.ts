import { Cluster } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { closeClient, createTestRedis, startRedisCluster } from '../support/index.js';
import { pidExists } from './process-state.js';

describe('startRedisCluster', () => {
  it('forms a 3-master cluster that serves keys in every slot range, and stops every node', async () => {
    const cluster = await startRedisCluster();
    const pids = cluster.nodes.map((node) => node.pid);
    try {
      expect(cluster.masters).toHaveLength(3);
      expect(cluster.replicas).toHaveLength(0);
      expect(cluster.startupNodes).toEqual(
        cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })),
      );

      for (const node of cluster.nodes) {
        const admin = createTestRedis({ url: node.url });
        const info = String(await admin.call('CLUSTER', 'INFO'));
        expect(info).toContain('cluster_state:ok');
        expect(info).toContain('cluster_slots_assigned:16384');
        expect(info).toContain('cluster_known_nodes:3');
      }

      const client = new Cluster(cluster.startupNodes);
      try {
        // Keys chosen to land in three different slots, so every master serves one.
        const keys = ['{a}:k', '{b}:k', '{c}:k'];
        const slots = await Promise.all(
          keys.map(async (key) => Number(await client.call('CLUSTER', 'KEYSLOT', key))),
        );
        expect(new Set(slots).size).toBe(3);
        for (const key of keys) await client.set(key, `value of ${key}`);
        for (const key of keys) expect(await client.get(key)).toBe(`value of ${key}`);
        const owners = new Set(
          await Promise.all(
            client.nodes('master').map(async (node) => Number(await node.dbsize())),
          ),
        );
        expect(owners).toEqual(new Set([1])); // one key on each master
      } finally {
        await closeClient(client);
      }
    } finally {
      await cluster.stop();
    }
    for (const pid of pids) expect(pidExists(pid)).toBe(false);
  });

  it('lets a killed master rejoin with its slots after restart()', async () => {
    const cluster = await startRedisCluster();
    try {
      const victim = cluster.masters[1]!;
      await victim.kill();
      await victim.restart(); // same port and dir: nodes.conf brings back its identity and slots
      const admin = createTestRedis({ url: victim.url });
      await vi.waitFor(
        async () =>
          expect(String(await admin.call('CLUSTER', 'INFO'))).toContain('cluster_state:ok'),
        { timeout: 10_000, interval: 100 },
      );
      const client = new Cluster(cluster.startupNodes);
      try {
        await client.set('{c}:after-restart', '1'); // '{c}' hashes to the second master's range
        expect(await admin.get('{c}:after-restart')).toBe('1');
      } finally {
        await closeClient(client);
      }
    } finally {
      await cluster.stop();
    }
  });

  it('starts one replica per master that reports role:slave', async () => {
    const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    try {
      expect(cluster.nodes).toHaveLength(6);
      expect(cluster.replicas).toHaveLength(3);
      for (const [i, replica] of cluster.replicas.entries()) {
        const info = await createTestRedis({ url: replica.url }).info('replication');
        expect(info).toContain('role:slave');
        expect(info).toContain(`master_port:${cluster.masters[i]!.port}`);
        expect(info).toContain('master_link_status:up');
      }
    } finally {
      await cluster.stop();
    }
  });

  it('validates the number of masters', async () => {
    await expect(startRedisCluster({ masters: 0 })).rejects.toThrow(RangeError);
  });
});
