import { describe, expect, it } from 'vitest';
import { createManualClock, ExpiringMap } from '../../src/index.js';

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

  it('drops expired entries on writes without reads (no timers, bounded memory)', () => {
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
});
