/**
 * The response every cache row serves: a ~2 KB catalogue (JSON), produced by an origin that
 * costs `ORIGIN_MS` per call (a slow query). The bare row serves the same body with no origin
 * cost, so cached rows are compared with the floor of serving those bytes.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Cost of one origin call, ms: what a cache that never hits pays on every request. */
export const ORIGIN_MS = 5;

/** Cache rows keep the entry for the whole run. */
export const CACHE_TTL_MS = 10 * 60_000;

export const CATALOGUE = {
  products: Array.from({ length: 20 }, (_, i) => ({
    id: `p-${i}`,
    name: `Product number ${i}`,
    priceCents: 1_000 + i * 37,
    tags: ['coffee', 'kitchen'],
  })),
};

/** The origin: one slow "query", then the catalogue. */
export async function loadCatalogue(): Promise<typeof CATALOGUE> {
  await sleep(ORIGIN_MS);
  return CATALOGUE;
}
