/**
 * Memory and Redis stores agree on random operation sequences: the same acquire / complete /
 * release / renew calls and clock moves, replayed on both with one manual clock, must give
 * identical outcomes at every step (the memory store transliterates the Lua scripts).
 */
import { createManualClock } from '@keel/core';
import {
  type Completion,
  createMemoryIdempotencyStore,
  createRedisIdempotencyStore,
  type IdempotencyStore,
} from '@keel/idempotency';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';

const client = createTestRedis();
const prefixes: string[] = [];
afterAll(async () => {
  for (const prefix of prefixes) await cleanupPrefix(client, prefix);
});

const LEASE = 10_000;
const RETENTION = 3_600_000;
const token = fc.constantFrom('t0', 't1', 't2');
const record = fc.constantFrom('r0', 'r1');

const operation = fc.oneof(
  fc.record({ op: fc.constant('acquire' as const), record, token, fp: fc.constantFrom('a', 'b') }),
  fc.record({ op: fc.constant('complete' as const), record, token, stored: fc.boolean() }),
  fc.record({ op: fc.constant('release' as const), record, token }),
  fc.record({ op: fc.constant('renew' as const), record, token }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 2 * LEASE }) }),
);
type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;

async function apply(store: IdempotencyStore, run: string, op: Operation): Promise<unknown> {
  if (op.op === 'advance') return undefined;
  const id = `${run}:${op.record}`;
  switch (op.op) {
    case 'acquire':
      return store.acquire({
        record: id,
        token: op.token,
        fingerprint: op.fp,
        leaseMs: LEASE,
        retentionMs: RETENTION,
      });
    case 'complete': {
      const completion: Completion = op.stored
        ? {
            stored: true,
            response: {
              status: 201,
              headers: { etag: `"${op.token}"` },
              body: Buffer.from(op.token),
            },
          }
        : { stored: false, status: 200 };
      return store.complete(id, op.token, completion, RETENTION);
    }
    case 'release':
      return store.release(id, op.token);
    case 'renew':
      return store.renew(id, op.token, LEASE, RETENTION);
  }
}

function normalise(outcome: unknown): unknown {
  if (typeof outcome !== 'object' || outcome === null || !('kind' in outcome)) return outcome;
  if (outcome.kind !== 'replay') return outcome;
  const { response } = outcome as unknown as { response: { body: Uint8Array } };
  return { ...outcome, response: { ...response, body: Buffer.from(response.body).toString() } };
}

describe('memory and Redis stores, random operation sequences', () => {
  it('give identical outcomes at every step', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 25 }), async (ops) => {
        const clock = createManualClock();
        const prefix = testPrefix();
        prefixes.push(prefix);
        const memory = createMemoryIdempotencyStore({ clock });
        const redis = createRedisIdempotencyStore({ client, prefix, clockForTests: clock });
        const run = `run-${runs++}`;
        for (const op of ops) {
          if (op.op === 'advance') clock.advance(op.ms);
          const [a, b] = await Promise.all([apply(memory, run, op), apply(redis, run, op)]);
          expect(normalise(a), JSON.stringify(op)).toEqual(normalise(b));
        }
      }),
      { numRuns: 60 },
    );
  });
});
