/**
 * The heartbeat of a claim on the memory store, on a manual clock and a manual interval timer:
 * the tests fire the beats themselves instead of sleeping through real intervals.
 */
import { randomUUID } from 'node:crypto';
import { createEvents, createManualClock, type KeelEvent, type ManualClock } from '@keel/core';
import { describe, expect, it, vi } from 'vitest';
import { ClaimKeeper, type IdempotencyClaim } from '../../src/claims.js';
import { createMemoryIdempotencyStore, type IdempotencyStore } from '../../src/index.js';
import type { IntervalId, IntervalTimer } from '../../src/interval-timer.js';

interface Interval {
  due: number;
  readonly everyMs: number;
  readonly fire: () => void;
}

/** An interval timer on `clock`: `advance(ms)` fires every beat due on the way, in order. */
function createManualTimer(clock: ManualClock) {
  const intervals = new Map<IntervalId, Interval>();
  let lastId = 0;
  const timer: IntervalTimer = {
    start(tick, everyMs, arg) {
      const id = ++lastId;
      intervals.set(id, { due: clock() + everyMs, everyMs, fire: () => tick(arg) });
      return id;
    },
    stop(id) {
      intervals.delete(id);
    },
  };
  async function advance(ms: number): Promise<void> {
    const end = clock() + ms;
    for (;;) {
      const next = [...intervals.values()]
        .filter((interval) => interval.due <= end)
        .sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      // A beat overdue (the clock was moved by hand, like a blocked event loop) runs once, now.
      const now = Math.max(clock(), next.due);
      clock.set(now);
      next.due = now + next.everyMs;
      next.fire();
      // Let the store's answer reach the heartbeat before the next beat, as real time would.
      await new Promise(setImmediate);
    }
    clock.set(end);
  }
  return { timer, advance, running: () => intervals.size };
}

function setup({ leaseMs = 250, renewEveryMs = 25 } = {}) {
  const clock = createManualClock();
  const { timer, advance, running } = createManualTimer(clock);
  const store = createMemoryIdempotencyStore({ clock });
  const seen: KeelEvent[] = [];
  const keeperOn = (s: IdempotencyStore, everyMs = renewEveryMs) =>
    new ClaimKeeper(
      {
        store: s,
        leaseMs,
        renewEveryMs: everyMs,
        retentionMs: 86_400_000,
        waitMs: 0,
        events: createEvents((e) => seen.push(e)),
      },
      timer,
    );
  const keeper = keeperOn(store);
  const claim = async (k: ClaimKeeper, record: string): Promise<IdempotencyClaim> => {
    const outcome = await k.claim(record, 'fp');
    if (outcome.kind !== 'execute') throw new Error(`expected a claim, got ${outcome.kind}`);
    return outcome.claim;
  };
  const named = (name: string) => seen.filter((e) => e.name === name);
  /**
   * A claim of `keeper` whose lease another worker took over: the event loop was blocked past
   * the lease, so no beat ran. Returns the record.
   */
  const takenOver = async (): Promise<string> => {
    const record = randomUUID();
    await claim(keeper, record);
    clock.advance(leaseMs + 1);
    await claim(keeperOn(store, 0), record);
    return record;
  };
  return { clock, advance, running, store, keeper, keeperOn, claim, named, takenOver };
}

describe('heartbeat', () => {
  it('keeps a long handler’s claim exclusive past its lease', async () => {
    const { advance, keeper, keeperOn, store, claim } = setup({ leaseMs: 250, renewEveryMs: 25 });
    const record = randomUUID();
    await claim(keeper, record);
    await advance(600);
    expect(await keeperOn(store, 0).claim(record, 'fp')).toMatchObject({ kind: 'in-flight' });
  });

  it.each(['complete', 'release', 'abort'] as const)(
    'stops once the claim ends (%s)',
    async (ending) => {
      const { advance, running, keeper, store, claim } = setup();
      const renew = vi.spyOn(store, 'renew');
      const held = await claim(keeper, randomUUID());
      if (ending === 'complete') {
        await keeper.complete(held, { stored: false, status: 500 });
      } else if (ending === 'release') {
        await keeper.release(held, { reason: 'error', error: new Error('failed') });
      } else {
        keeper.abort(held);
      }
      await advance(600);
      expect(running()).toBe(0);
      expect(renew).not.toHaveBeenCalled();
    },
  );

  it('emits idempotency.fenced once another owner took the lease over', async () => {
    const { advance, named, takenOver } = setup({ leaseMs: 1000, renewEveryMs: 10 });
    const record = await takenOver();
    await advance(10);
    expect(named('idempotency.fenced').map((e) => e.attributes)).toEqual([
      { record, operation: 'renew', reason: 'taken-over' },
    ]);
  });

  it('stops beating once fenced', async () => {
    const { advance, running, store, takenOver } = setup({ leaseMs: 1000, renewEveryMs: 10 });
    await takenOver();
    const renew = vi.spyOn(store, 'renew');
    await advance(100);
    expect(renew).toHaveBeenCalledTimes(1);
    expect(running()).toBe(0);
  });

  it('reports a failed renewal and renews again at the next beat', async () => {
    const { advance, keeper, store, claim, named } = setup({ renewEveryMs: 25 });
    const record = randomUUID();
    const renew = vi.spyOn(store, 'renew').mockRejectedValueOnce(new Error('connection reset'));
    await claim(keeper, record);
    await advance(25);
    expect(named('idempotency.store-error').map((e) => e.attributes)).toEqual([
      { record, operation: 'renew' },
    ]);
    await advance(25);
    expect(renew).toHaveBeenCalledTimes(2);
  });

  it('never sends a second renewal while one is in progress', async () => {
    const { advance, keeper, store, claim } = setup({ renewEveryMs: 25 });
    const renew = vi.spyOn(store, 'renew').mockReturnValue(new Promise(() => {}));
    await claim(keeper, randomUUID());
    await advance(100);
    expect(renew).toHaveBeenCalledTimes(1);
  });
});
