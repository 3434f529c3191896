import { expect, it } from 'vitest';
import { createTestRedis, startRedisServers } from '../support/index.js';
import { pidExists } from './process-state.js';

it('starts independent standalone servers and stops them all', async () => {
  const group = await startRedisServers(3);
  const pids = group.servers.map((server) => server.pid);
  try {
    expect(new Set(group.servers.map((server) => server.port)).size).toBe(3);
    expect(new Set(pids).size).toBe(3);
    expect(group.urls).toEqual(group.servers.map((server) => server.url));

    const clients = group.urls.map((url) => createTestRedis({ url }));
    await clients[0]!.set('only-on-the-first', '1');
    expect(await clients[0]!.get('only-on-the-first')).toBe('1');
    expect(await clients[1]!.get('only-on-the-first')).toBeNull();
    expect(await clients[2]!.get('only-on-the-first')).toBeNull();
    for (const info of await Promise.all(clients.map((c) => c.info('replication')))) {
      expect(info).toContain('role:master');
      expect(info).toContain('connected_slaves:0');
    }
  } finally {
    await group.stop();
  }
  for (const pid of pids) expect(pidExists(pid)).toBe(false);
});

it('validates n', async () => {
  await expect(startRedisServers(0)).rejects.toThrow(RangeError);
});
