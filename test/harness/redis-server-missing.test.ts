import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { startRedisServer } from '../support/index.js';

it('fails loudly when redis-server is not on PATH', async () => {
  const emptyDir = await mkdtemp(path.join(os.tmpdir(), 'keel-empty-path-'));
  const savedPath = process.env.PATH;
  process.env.PATH = emptyDir;
  try {
    await expect(startRedisServer()).rejects.toThrow(
      'redis-server is not installed: run `apt-get install -y redis-server` (Debian) — ' +
        "Keel's tests need a real Redis and never skip",
    );
  } finally {
    process.env.PATH = savedPath;
    await rm(emptyDir, { recursive: true, force: true });
  }
});
