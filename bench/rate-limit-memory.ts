/**
 * What a rate-limit memory store really retains per counter, per algorithm, and that its bounds
 * hold (issue 19 item 7). For each algorithm it fills a store with distinct clients (IPv4
 * keys, as `rateLimit()` builds them) until well past `maxEntries`, each client spending its
 * whole limit (the worst case for sliding-log, whose state is one timestamp per unit), then
 * measures the heap after a full GC.
 *
 *   node --expose-gc --import tsx bench/rate-limit-memory.ts [--clients 150000] [--limit 100]
 *
 * Prints per algorithm: counters kept, heap held (MiB), bytes per counter, the store's own
 * estimate per counter, and how many clients were still counted once the store was full.
 */
import { parseArgs } from 'node:util';
import { ALGORITHM_NAMES, type AlgorithmName, createMemoryStore } from '@keel/rate-limit';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '150000' },
    limit: { type: 'string', default: '100' },
    'max-entries': { type: 'string', default: '100000' },
    'max-bytes': { type: 'string' },
  },
});
const clients = Number(values.clients);
const limit = Number(values.limit);
const maxEntries = Number(values['max-entries']);
const maxBytes = values['max-bytes'] === undefined ? undefined : Number(values['max-bytes']);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc --import tsx bench/rate-limit-memory.ts');

function heap(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

async function measure(algorithm: AlgorithmName) {
  const before = heap();
  let t = 1_700_000_000_000;
  const store = createMemoryStore({
    maxEntries,
    ...(maxBytes === undefined ? {} : { maxBytes }),
    clock: () => t,
    warnings: false,
  });
  const policy = {
    keyParts: ['api', 'default', algorithm],
    algorithm,
    limit,
    windowMs: 3_600_000,
    burst: limit,
  };
  // Every client spends its whole limit: a sliding log holds `limit` timestamps.
  const spend = algorithm === 'sliding-log' ? limit : 1;
  let countedAfterFull = 0;
  const started = performance.now();
  for (let i = 0; i < clients; i++) {
    t += 1;
    const check = { clientKey: ip(i), cost: spend, policies: [policy] };
    const result = await store.check(check);
    // A fresh client of a full store is counted when a second request sees its first one.
    if (i >= maxEntries && result.allowed) {
      const again = await store.check({ ...check, cost: 1 });
      if (again.decisions[0]!.remaining < limit - spend) countedAfterFull++;
      else if (!again.allowed) countedAfterFull++;
    }
  }
  const elapsedMs = performance.now() - started;
  const held = heap() - before;
  const kept = store.size;
  const row = {
    algorithm,
    kept,
    heldMiB: +(held / 2 ** 20).toFixed(1),
    bytesPerCounter: Math.round(held / kept),
    estimatePerCounter: Math.round(store.bytes / kept),
    countedAfterFull: `${countedAfterFull}/${Math.max(0, clients - maxEntries)}`,
    // Wall time per client (one check, two once the store is full): includes the evictions.
    usPerClient: +((elapsedMs * 1000) / clients).toFixed(1),
  };
  // Keep the store reachable until measured.
  void store.check;
  return row;
}

const rows = [];
for (const algorithm of ALGORITHM_NAMES) rows.push(await measure(algorithm));
console.log(
  `node ${process.version}, ${clients} clients, limit ${limit}, maxEntries ${maxEntries}, maxBytes ${maxBytes ?? 'default'}`,
);
console.table(rows);
