import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  closeClient,
  createTestRedis,
  freePort,
  RedisServerStartError,
  startRedisServer,
} from '../support/index.js';
import { pidExists } from './process-state.js';

describe('startRedisServer', () => {
  it('starts a server that answers PING, and stop() ends the process and removes its dir', async () => {
    const server = await startRedisServer({ args: ['--maxmemory', '10mb'] });
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(server.isRunning()).toBe(true);
    expect(existsSync(server.dir)).toBe(true);

    const client = createTestRedis({ url: server.url });
    expect(await client.ping()).toBe('PONG');
    expect(await client.config('GET', 'maxmemory')).toEqual([
      'maxmemory',
      String(10 * 1024 * 1024),
    ]);
    expect(await client.config('GET', 'save')).toEqual(['save', '']);
    await closeClient(client);

    const { pid } = server;
    await server.stop();
    expect(server.isRunning()).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(existsSync(server.dir)).toBe(false);
    await server.stop(); // idempotent
  });

  it('listens on the requested port', async () => {
    const port = await freePort();
    const server = await startRedisServer({ port });
    try {
      expect(server.port).toBe(port);
      const client = createTestRedis({ url: `redis://127.0.0.1:${port}` });
      expect(await client.ping()).toBe('PONG');
    } finally {
      await server.stop();
    }
  });

  it('restarts on the same port after kill(), with a new pid and the same dir', async () => {
    const server = await startRedisServer();
    try {
      const client = createTestRedis({ url: server.url });
      await client.set('before-kill', '1');
      const { port, dir, pid } = server;

      await server.kill();
      expect(server.isRunning()).toBe(false);
      expect(pidExists(pid)).toBe(false);
      expect(existsSync(dir)).toBe(true); // kill() keeps the dir for restart()

      await server.restart();
      expect(server.isRunning()).toBe(true);
      expect(server.port).toBe(port);
      expect(server.dir).toBe(dir);
      expect(server.pid).not.toBe(pid);
      // The same client reconnects by itself; nothing was persisted (--save '').
      expect(await client.get('before-kill')).toBeNull();
    } finally {
      await server.stop();
    }
  });

  it('restart() also works on a running server and after stop()', async () => {
    const server = await startRedisServer();
    try {
      const first = server.pid;
      await server.restart();
      expect(server.pid).not.toBe(first);
      expect(pidExists(first)).toBe(false);

      await server.stop();
      await server.restart();
      expect(server.isRunning()).toBe(true);
      expect(existsSync(server.dir)).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it('pause() stops answers until resume()', async () => {
    const server = await startRedisServer();
    try {
      const client = createTestRedis({ url: server.url, commandTimeout: 200 });
      expect(await client.ping()).toBe('PONG');

      server.pause();
      await expect(client.ping()).rejects.toThrow(/timed out/i);
      expect(server.isRunning()).toBe(true);

      server.resume();
      expect(await client.ping()).toBe('PONG');
    } finally {
      await server.stop();
    }
  });

  it('stop() ends a paused server', async () => {
    const server = await startRedisServer();
    server.pause();
    await server.stop();
    expect(pidExists(server.pid)).toBe(false);
  });

  it('reports a server that exits during startup with its output', async () => {
    const failure = startRedisServer({ args: ['--no-such-directive', 'yes'] });
    await expect(failure).rejects.toBeInstanceOf(RedisServerStartError);
    await expect(failure).rejects.toThrow(/exited during startup[\s\S]*no-such-directive/);
  });

  it('reports a taken port', async () => {
    const server = await startRedisServer();
    try {
      await expect(startRedisServer({ port: server.port })).rejects.toThrow(
        /Address already in use/,
      );
      // The running server is unaffected.
      expect(await createTestRedis({ url: server.url }).ping()).toBe('PONG');
    } finally {
      await server.stop();
    }
  });
});
