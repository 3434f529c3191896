/**
 * Issue 19, items 6 and 8, through real Express and Koa apps: the memory store's `maxBytes`
 * bounds the memory its entries really keep alive (checked with `arrayBuffers` and the heap
 * after a full GC), the L1 in front of Redis keeps no pool slabs alive, and a process that
 * goes idle gives the memory of expired entries back without another request.
 */
import { Agent, type IncomingMessage, request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Cache, createCache } from '@keel/cache';
import { createManualClock } from '@keel/core';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';
import { eventually, frameworks, listen } from './apps.js';

const KiB = 1024;
const MiB = 1024 * KiB;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Memory still reachable after full collections (a WeakRef or a timer may need a turn). */
async function retained(): Promise<{ buffers: number; heap: number }> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
  }
  const usage = process.memoryUsage();
  return { buffers: usage.arrayBuffers, heap: usage.heapUsed };
}

/** A body of `size` bytes that differs per path (JSON, as most API responses are). */
const bodyFor = (path: string, size: number) => ({
  path,
  pad: 'x'.repeat(size - path.length - 20),
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** A GET over `agent`; resolves once the body was read. */
function get(agent: Agent, url: string, method = 'GET'): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    request(url, { agent, method }, (res) => {
      res.resume();
      res.on('end', () => resolve(res));
    })
      .on('error', reject)
      .end();
  });
}

/** GET `count` distinct paths, 8 at a time, over keep-alive connections (little client garbage). */
async function fill(url: string, count: number, prefix = '/item/', method = 'GET'): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  let next = 0;
  const worker = async () => {
    while (next < count) await get(agent, `${url}${prefix}${next++}`, method);
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  agent.destroy();
}

/** Warm the app up (JIT, pools, sockets) with HEADs: the handler runs, nothing is stored. */
const warmUp = (url: string) => fill(url, 200, '/warm/', 'HEAD');

/** The `Cache-Status` of a HEAD for `url`. */
async function status(url: string): Promise<string> {
  const agent = new Agent();
  const res = await get(agent, url, 'HEAD');
  agent.destroy();
  return String(res.headers['cache-status'] ?? '');
}

describe.each(frameworks)('%s: memory the cache really keeps', (_name, makeApp) => {
  async function app(cache: Cache, bodySize: number) {
    const server = await listen(
      makeApp({ cache, ttlMs: 60_000 }, ({ path }) => ({ json: bodyFor(path, bodySize) })),
    );
    cleanups.push(() => server.close());
    return server;
  }

  it('maxBytes bounds what entries keep alive: small bodies pin no 8 KiB slabs', async () => {
    const maxBytes = 2 * MiB;
    const cache = createCache({ memory: { maxEntries: 1_000_000, maxBytes } });
    const server = await app(cache, 3 * KiB);
    await warmUp(server.url);
    const before = await retained();
    // 2,000 bodies of 3 KiB (each copied out of an 8 KiB pool slab before): 3× the bound.
    await fill(server.url, 2_000);
    await eventually(async () => /; hit/.test(await status(`${server.url}/item/1999`)));
    const after = await retained();
    const buffers = after.buffers - before.buffers;
    expect(buffers).toBeLessThan(maxBytes);
    // The bound was reached: it is the bound, not a small cache, that held memory down.
    expect(buffers).toBeGreaterThan(maxBytes / 2);
    // Entries, keys and records are counted too (bench/memory-retention.ts measures them
    // closely; here the heap of the test runner blurs a 2 MiB figure, so only grossly).
    expect(buffers + after.heap - before.heap).toBeLessThan(maxBytes * 2);
  });

  it('an idle process gives expired entries back without another request', async () => {
    const clock = createManualClock();
    const cache = createCache({ clock, memory: { maxEntries: 1_000_000, maxBytes: 64 * MiB } });
    const server = await app(cache, 2 * KiB);
    await warmUp(server.url);
    const before = await retained();
    await fill(server.url, 1_500);
    const peak = await retained();
    expect(peak.buffers - before.buffers).toBeGreaterThan(1_500 * 2 * KiB * 0.9);
    // Everything expires; no request, read or write follows. The sweep (one tick a second,
    // 10,000 entries a tick) must hand the memory back by itself.
    clock.advance(60_001);
    await eventually(async () => (await retained()).buffers - before.buffers < 256 * KiB, 5_000);
    const idle = await retained();
    expect(idle.heap - before.heap).toBeLessThan((peak.heap - before.heap) / 2 + 256 * KiB);
  });
});

describe.each(frameworks)('%s: the L1 in front of Redis', (_name, makeApp) => {
  it('keeps copies of its own, not the pool slabs the responses were captured into', async () => {
    const prefix = testPrefix();
    const client = createTestRedis();
    cleanups.push(() => cleanupPrefix(client, prefix));
    const l1Bytes = 1 * MiB;
    const cache = createCache({
      client,
      prefix,
      l1: { maxEntries: 100_000, maxBytes: l1Bytes, ttlMs: 60_000 },
    });
    await cache.ready();
    const server = await listen(
      makeApp({ cache }, ({ path }) => ({ json: bodyFor(path, 3 * KiB) })),
    );
    cleanups.push(() => server.close());
    await warmUp(server.url);
    const before = await retained();
    // Each fill goes to Redis and into this process's L1: 2,000 × 3 KiB, 6× the L1's bound.
    await fill(server.url, 2_000);
    await eventually(async () => /; hit/.test(await status(`${server.url}/item/1999`)));
    const after = await retained();
    const buffers = after.buffers - before.buffers;
    expect(buffers).toBeLessThan(l1Bytes);
    // The L1 did fill up (about 270 entries of 3 KiB under its bound): the bound held it down.
    expect(buffers).toBeGreaterThan(l1Bytes / 4);
  });
});
