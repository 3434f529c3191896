/**
 * `pnpm exec tsx bench/memory-retention.ts`: does each memory store's `maxBytes` bound the
 * memory it really keeps, and does an idle process give memory back? (issue 19, items 6 and 8)
 *
 * Each row drives a real Express app over HTTP (keep-alive, 8 concurrent requests) with many
 * distinct requests whose bodies (200 B – 3.5 KiB, the sizes that come from Node's 8 KiB buffer
 * pool) add up to three times the store's `maxBytes`, then measures after full GCs:
 * - `buffers`: growth of `process.memoryUsage().arrayBuffers` (body bytes and pool slabs),
 * - `heap`: growth of `heapUsed` (entries, keys, metadata, indexes),
 * - `× bound`: (buffers + heap) / maxBytes — 1.00 means the bound counts what is kept;
 * then lets every entry expire (a manual clock moves past the TTL, no request follows) and
 * reports how long the process took to give the memory back, and what was left.
 *
 * ```sh
 * pnpm exec tsx bench/memory-retention.ts                 # 16 MiB bound per store
 * pnpm exec tsx bench/memory-retention.ts --mib 32 --only cache --idle-s 10
 * ```
 *
 * `idle in`: time until the growth is back under 5% of the bound (`> n s`: it was not, within
 * `--idle-s`); `left`: the growth then.
 */
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createCache } from '@keel/cache';
import { createManualClock, type ManualClock } from '@keel/core';
import { idempotency, responseCache, SessionStore } from '@keel/express';
import { createMemoryIdempotencyStore } from '@keel/idempotency';
import express, { type Express } from 'express';
import session from 'express-session';

const { values: args } = parseArgs({
  options: {
    mib: { type: 'string', default: '16' },
    only: { type: 'string' },
    'idle-s': { type: 'string', default: '120' },
  },
});
const MiB = 1024 * 1024;
const maxBytes = Number(args.mib) * MiB;
const TTL_MS = 60_000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function retained(): Promise<{ buffers: number; heap: number }> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
  }
  const usage = process.memoryUsage();
  return { buffers: usage.arrayBuffers, heap: usage.heapUsed };
}

/** Body sizes cycle through the pooled range: 200 B to 3.5 KiB, mean ~1.9 KiB. */
const sizeOf = (i: number) => 200 + ((i * 7919) % 3384);
const padding = (i: number) => 'x'.repeat(sizeOf(i));

/** One request over the keep-alive `agent`; resolves once its body was read. */
function send(
  agent: Agent,
  port: number,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers },
      (res) => {
        res.resume();
        res.on('end', () => resolve());
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

interface Row {
  name: string;
  app(clock: ManualClock): Express;
  /** The request that stores entry `i`. */
  send(agent: Agent, port: number, i: number): Promise<void>;
}

const rows: Row[] = [
  {
    name: 'cache (responseCache, memory store)',
    app(clock) {
      const app = express();
      const cache = createCache({ clock, memory: { maxEntries: 10_000_000, maxBytes } });
      app.get('/item/:i', responseCache({ cache, ttlMs: TTL_MS }), (req, res) => {
        res.json({ id: req.params.i, pad: padding(Number(req.params.i)) });
      });
      return app;
    },
    send: (agent, port, i) => send(agent, port, `/item/${i}`),
  },
  {
    name: 'idempotency (memory store)',
    app(clock) {
      const app = express();
      const store = createMemoryIdempotencyStore({ clock, maxEntries: 10_000_000, maxBytes });
      app.use(express.json());
      app.post('/orders', idempotency({ store, retentionMs: TTL_MS, scope: false }), (req, res) => {
        res.status(201).json({ order: req.body.n, pad: padding(req.body.n) });
      });
      return app;
    },
    send: (agent, port, i) =>
      send(agent, port, '/orders', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `"k-${i}"` },
        body: JSON.stringify({ n: i }),
      }),
  },
  {
    name: 'session (express-session, memory store)',
    app(clock) {
      const app = express();
      const store = new SessionStore({ memory: { clock, maxEntries: 10_000_000, maxBytes } });
      app.use(
        session({
          store,
          secret: 'bench-secret-bench-secret',
          resave: false,
          saveUninitialized: false,
          cookie: { maxAge: TTL_MS },
        }),
      );
      app.get('/login/:i', (req, res) => {
        (req.session as unknown as { pad: string }).pad = padding(Number(req.params.i));
        res.json({ ok: true });
      });
      return app;
    },
    send: (agent, port, i) => send(agent, port, `/login/${i}`),
  },
];

async function run(row: Row): Promise<string> {
  const clock = createManualClock(Date.now());
  const server = createServer(row.app(clock));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const drive = async (from: number, count: number) => {
    let next = from;
    const worker = async () => {
      while (next < from + count) {
        await row.send(agent, port, next++);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  };
  await drive(1_000_000_000, 500);
  const before = await retained();
  let offered = 0;
  let count = 0;
  while (offered < 3 * maxBytes) offered += sizeOf(count++);
  await drive(0, count);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const full = await retained();
  clock.advance(TTL_MS + 1);
  const idleStart = Date.now();
  let idle = await retained();
  while (idle.buffers + idle.heap - before.buffers - before.heap > maxBytes / 20) {
    if (Date.now() - idleStart > Number(args['idle-s']) * 1000) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
    idle = await retained();
  }
  const idleMs = Date.now() - idleStart;
  const gaveBack = idle.buffers + idle.heap - before.buffers - before.heap <= maxBytes / 20;
  server.closeAllConnections();
  server.close();
  agent.destroy();
  const mib = (n: number) => (n / MiB).toFixed(1).padStart(6);
  const buffers = full.buffers - before.buffers;
  const heap = full.heap - before.heap;
  const left = idle.buffers + idle.heap - before.buffers - before.heap;
  return [
    row.name.padEnd(40),
    String(count).padStart(7),
    mib(buffers),
    mib(heap),
    ((buffers + heap) / maxBytes).toFixed(2).padStart(8),
    `${gaveBack ? '' : '> '}${(idleMs / 1000).toFixed(1)} s`.padStart(8),
    mib(left),
  ].join('  ');
}

console.log(
  `maxBytes ${args.mib} MiB per store; ${process.version}; figures in MiB after GC, growth over a warmed-up app`,
);
console.log(
  [
    'store'.padEnd(40),
    'entries'.padStart(7),
    'buffers'.padStart(6),
    'heap'.padStart(6),
    '× bound'.padStart(8),
    'idle in'.padStart(8),
    '  left',
  ].join('  '),
);
for (const row of rows) {
  if (args.only && !row.name.includes(args.only)) continue;
  console.log(await run(row));
}
