/**
 * Choosing which counters a full memory store gives up: the ones nearest to expiry. They carry
 * the least: a counter that expires in a second would forget its client a second later anyway,
 * while one an hour from expiry holds an hour of that client's spending. Evicting by recency
 * instead would drop a slow client's long-window counter first — exactly the client a limit
 * over a long window exists to hold back.
 */

/**
 * The keys of the `count` entries with the smallest expiry, soonest first: one pass with a
 * bounded max-heap, O(n log count) time and O(count) memory, run only when the store is full.
 */
export function soonestToExpire<K>(entries: Iterable<readonly [K, number]>, count: number): K[] {
  if (count <= 0) return [];
  // A max-heap on expiry: its root is the latest of the soonest `count` seen so far.
  const keys: K[] = [];
  const expiries: number[] = [];
  const swap = (a: number, b: number) => {
    [keys[a], keys[b]] = [keys[b] as K, keys[a] as K];
    [expiries[a], expiries[b]] = [expiries[b] as number, expiries[a] as number];
  };
  const siftDown = (from: number) => {
    let i = from;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let largest = i;
      if (left < keys.length && (expiries[left] as number) > (expiries[largest] as number))
        largest = left;
      if (right < keys.length && (expiries[right] as number) > (expiries[largest] as number))
        largest = right;
      if (largest === i) return;
      swap(i, largest);
      i = largest;
    }
  };
  for (const [key, expiresAt] of entries) {
    if (keys.length < count) {
      keys.push(key);
      expiries.push(expiresAt);
      // Sift up.
      let i = keys.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if ((expiries[parent] as number) >= expiresAt) break;
        swap(i, parent);
        i = parent;
      }
    } else if (expiresAt < (expiries[0] as number)) {
      keys[0] = key;
      expiries[0] = expiresAt;
      siftDown(0);
    }
  }
  // Soonest first: the heap's order, undone.
  const order = keys
    .map((_, i) => i)
    .sort((a, b) => (expiries[a] as number) - (expiries[b] as number));
  return order.map((i) => keys[i] as K);
}
