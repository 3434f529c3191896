import { DeadlineQueue, localNow, StoreTimeoutError } from '@keel/core';
import { describe, expect, it } from 'vitest';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const never = () => new Promise<never>(() => {});

describe('DeadlineQueue', () => {
  it('gives up on each open call at its own deadline, with one timer for all', async () => {
    const queue = new DeadlineQueue(localNow);
    const start = localNow();
    const settled: [string, number][] = [];
    const track = (name: string, p: Promise<unknown>) =>
      p.then(
        () => settled.push([name, localNow() - start]),
        (e: unknown) => {
          expect(e).toBeInstanceOf(StoreTimeoutError);
          settled.push([`${name} timeout`, localNow() - start]);
        },
      );
    const a = track('a', queue.race(never(), start + 30, 30, 'a'));
    const b = track(
      'b',
      queue.race(
        sleep(10).then(() => 'b'),
        start + 40,
        40,
        'b',
      ),
    );
    const c = track('c', queue.race(never(), start + 60, 60, 'c'));
    await Promise.all([a, b, c]);
    expect(settled.map(([name]) => name)).toEqual(['b', 'a timeout', 'c timeout']);
    const at = Object.fromEntries(settled);
    expect(at['a timeout']).toBeGreaterThanOrEqual(29);
    expect(at['c timeout']).toBeGreaterThanOrEqual(59);
    expect(at['c timeout']).toBeLessThan(200);
  });

  it('keeps an out-of-order deadline exact (a call that waited before sending)', async () => {
    const queue = new DeadlineQueue(localNow);
    const start = localNow();
    void queue.race(never(), start + 200, 200, 'late').catch(() => {});
    const error = await queue.race(never(), start + 20, 20, 'early').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreTimeoutError);
    expect((error as StoreTimeoutError).deadlineMs).toBe(20);
    expect(localNow() - start).toBeLessThan(150);
  });

  it('passes values and errors through unchanged', async () => {
    const queue = new DeadlineQueue(localNow);
    const bug = new Error('bug');
    expect(await queue.race(Promise.resolve(7), localNow() + 50, 50, 'x')).toBe(7);
    await expect(queue.race(Promise.reject(bug), localNow() + 50, 50, 'x')).rejects.toBe(bug);
  });
});
