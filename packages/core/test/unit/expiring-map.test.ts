import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createManualClock, ExpiringMap } from '../../src/index.js';

/** A full GC without starting node with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

async function until(check: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('ExpiringMap', () => {
  it('expires entries by the injected clock', () => {
    const clock = createManualClock();
    const map = new ExpiringMap<string, number>({ clock });
    map.set('a', 1, clock() + 100);
    expect(map.get('a')).toBe(1);
    expect(map.ttl('a')).toBe(100);
    clock.advance(100);
    expect(map.get('a')).toBeUndefined();
    expect(map.ttl('a')).toBe(-2);
    map.set('b', 2, Number.POSITIVE_INFINITY);
    expect(map.ttl('b')).toBe(-1);
  });

  it('drops expired entries on writes without reads (bounded memory between sweeps)', () => {
    const clock = createManualClock();
    const map = new ExpiringMap<number, number>({ clock, maxEntries: 1_000_000 });
    for (let i = 0; i < 1000; i++) map.set(i, i, clock() + 10);
    clock.advance(10);
    for (let i = 1000; i < 2000; i++) map.set(i, i, clock() + 1_000_000);
    expect(map.size).toBeLessThanOrEqual(1000 + 3);
  });

  it('evicts the least recently used live entry when full', () => {
    const clock = createManualClock();
    const map = new ExpiringMap<string, number>({ clock, maxEntries: 2 });
    map.set('a', 1, Number.POSITIVE_INFINITY);
    map.set('b', 2, Number.POSITIVE_INFINITY);
    map.touch('a');
    expect(map.set('c', 3, Number.POSITIVE_INFINITY)).toBe(true);
    expect([...map.entries()].map(([k]) => k)).toEqual(['a', 'c']);
  });

  it('prefers expired entries over live ones, and refuses when live entries may not be evicted', () => {
    const clock = createManualClock();
    const map = new ExpiringMap<string, number>({ clock, maxEntries: 2, evictLive: false });
    map.set('live', 1, clock() + 1000);
    map.set('short', 2, clock() + 10);
    expect(map.set('x', 3, clock() + 1000)).toBe(false);
    expect(map.get('live')).toBe(1);
    clock.advance(10);
    expect(map.set('x', 3, clock() + 1000)).toBe(true);
    expect(map.get('live')).toBe(1);
    expect(map.get('x')).toBe(3);
  });

  it('bounds bytes', () => {
    const clock = createManualClock();
    const map = new ExpiringMap<string, string>({ clock, maxBytes: 10 });
    map.set('a', 'aaaaa', Number.POSITIVE_INFINITY, 5);
    map.set('b', 'bbbbb', Number.POSITIVE_INFINITY, 5);
    map.set('c', 'ccc', Number.POSITIVE_INFINITY, 3);
    expect(map.bytes).toBeLessThanOrEqual(10);
    expect(map.get('a')).toBeUndefined();
    expect(map.set('huge', 'x', Number.POSITIVE_INFINITY, 11)).toBe(false);
  });

  it('replacing an entry keeps byte accounting exact', () => {
    const clock = createManualClock();
    const map = new ExpiringMap<string, string>({ clock });
    map.set('a', 'x', Number.POSITIVE_INFINITY, 5);
    map.set('a', 'y', Number.POSITIVE_INFINITY, 7);
    expect(map.bytes).toBe(7);
    map.delete('a');
    expect(map.bytes).toBe(0);
  });

  it('sweeps expired entries in the background, with no reads or writes (an idle process)', async () => {
    const clock = createManualClock();
    const map = new ExpiringMap<number, string>({ clock, maxEntries: 100_000, sweepIntervalMs: 5 });
    for (let i = 0; i < 25_000; i++) map.set(i, 'x', clock() + (i % 2 === 0 ? 10 : 60_000), 10);
    clock.advance(10);
    // 10,000 entries a tick at most: three ticks for the expired half.
    await until(() => map.size === 12_500);
    expect(map.bytes).toBe(125_000);
    clock.advance(60_000);
    await until(() => map.size === 0);
    expect(map.bytes).toBe(0);
  });

  it('bounds the work of one sweep, and costs nothing while no entry can have expired', () => {
    const clock = createManualClock();
    const map = new ExpiringMap<number, number>({ clock, sweepIntervalMs: false });
    for (let i = 0; i < 100; i++) map.set(i, i, clock() + 1000);
    clock.advance(1000);
    expect(map.sweep(10)).toBe(10);
    expect(map.size).toBe(90);
    expect(map.sweep()).toBe(90);
    for (let i = 0; i < 100; i++) map.set(i, i, clock() + 1000);
    // A full pass learned the earliest expiry; until then a sweep inspects nothing.
    expect(map.sweep()).toBe(0);
    clock.advance(999);
    expect(map.sweep()).toBe(0);
    expect(map.size).toBe(100);
    clock.advance(1);
    expect(map.sweep()).toBe(100);
  });

  it('an entry whose expiry moved earlier during a pass is still found by the next one', () => {
    const clock = createManualClock();
    const map = new ExpiringMap<string, number>({ clock, sweepIntervalMs: false });
    map.set('a', 1, clock() + 10_000);
    map.set('b', 2, clock() + 10_000);
    map.sweep(1); // the pass has seen 'a'
    map.expire('a', clock() + 10);
    map.sweep(); // the pass ends; its earliest must include 'a''s new expiry
    clock.advance(10);
    expect(map.sweep()).toBe(1);
    expect([...map.entries()].map(([k]) => k)).toEqual(['b']);
  });

  it('its timer never keeps a dropped map alive', async () => {
    const clock = createManualClock();
    let map: ExpiringMap<number, Buffer> | undefined = new ExpiringMap({
      clock,
      sweepIntervalMs: 5,
    });
    for (let i = 0; i < 10; i++) map.set(i, Buffer.alloc(1024), clock() + 60_000);
    const ref = new WeakRef(map);
    map = undefined;
    // A WeakRef keeps its target until the current job ends.
    await new Promise((resolve) => setTimeout(resolve, 0));
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
  });

  it('rejects a bad sweep interval, naming the option', () => {
    const clock = createManualClock();
    expect(() => new ExpiringMap({ clock, sweepIntervalMs: 0 })).toThrow(/sweepIntervalMs/);
  });
});
