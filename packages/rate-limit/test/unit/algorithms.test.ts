/**
 * The algorithm units as pure functions: their contract (no state change on a denial,
 * integer outputs, retry time exact, no retry time for a cost above the capacity) and the
 * known equivalence of GCRA and the token bucket.
 */
import {
  ALGORITHM_NAMES,
  ALGORITHMS,
  type AlgorithmUnit,
  type PolicyLimits,
  RETRY_NEVER,
} from '@keel/rate-limit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const unit = (name: (typeof ALGORITHM_NAMES)[number]): AlgorithmUnit<unknown> => ALGORITHMS[name];

const policyArb = fc
  .record({
    limit: fc.integer({ min: 1, max: 20 }),
    windowMs: fc.integer({ min: 1, max: 5000 }),
    extra: fc.integer({ min: 0, max: 5 }),
  })
  .map(({ limit, windowMs, extra }) => ({ limit, windowMs, burst: limit + extra }));

const stepsArb = fc.array(
  fc.record({ advance: fc.integer({ min: 0, max: 3000 }), cost: fc.integer({ min: 1, max: 5 }) }),
  {
    maxLength: 60,
  },
);

function run(
  name: (typeof ALGORITHM_NAMES)[number],
  policy: PolicyLimits,
  steps: { advance: number; cost: number }[],
) {
  const u = unit(name);
  let now = 1_700_000_000_000;
  let state: unknown;
  let expiresAt = Number.POSITIVE_INFINITY;
  const out = [];
  for (const step of steps) {
    now += step.advance;
    if (now >= expiresAt) state = undefined;
    const r = u.check(state, now, policy, step.cost);
    out.push(r.decision);
    if (r.decision.allowed) {
      state = r.next;
      expiresAt = r.expiresAt;
    }
  }
  return out;
}

describe('algorithm units', () => {
  it.each(ALGORITHM_NAMES)(
    '%s: integer outputs; denial changes nothing; retry is exact',
    (name) => {
      fc.assert(
        fc.property(policyArb, stepsArb, (p, steps) => {
          const policy = name === 'token-bucket' || name === 'gcra' ? p : { ...p, burst: p.limit };
          const u = unit(name);
          let now = 1_700_000_000_000;
          let state: unknown;
          for (const step of steps) {
            now += step.advance;
            const r = u.check(state, now, policy, step.cost);
            const d = r.decision;
            for (const v of [d.remaining, d.resetMs, d.retryAfterMs, d.receipt])
              expect(Number.isSafeInteger(v)).toBe(true);
            expect(d.remaining).toBeGreaterThanOrEqual(0);
            if (d.allowed) {
              expect(d.retryAfterMs).toBe(0);
              state = r.next;
              continue;
            }
            expect(r.next).toBeUndefined();
            if (step.cost > policy.burst) {
              // No wait helps, so none is promised: not even a whole idle day lets it pass.
              expect(d.retryAfterMs).toBe(RETRY_NEVER);
              expect(
                u.check(undefined, now + 86_400_000, policy, step.cost).decision,
              ).toMatchObject({ allowed: false, retryAfterMs: RETRY_NEVER });
            } else {
              expect(d.retryAfterMs).toBeGreaterThan(0);
              // Exactly at the retry time it passes, 1 ms before it does not.
              if (d.retryAfterMs > 1)
                expect(
                  u.check(state, now + d.retryAfterMs - 1, policy, step.cost).decision.allowed,
                ).toBe(false);
              expect(u.check(state, now + d.retryAfterMs, policy, step.cost).decision.allowed).toBe(
                true,
              );
            }
          }
        }),
        { numRuns: 150 },
      );
    },
  );

  it('GCRA decides exactly as a token bucket of the same capacity and rate', () => {
    fc.assert(
      fc.property(policyArb, stepsArb, (policy, steps) => {
        expect(run('gcra', policy, steps)).toEqual(run('token-bucket', policy, steps));
      }),
      { numRuns: 200 },
    );
  });

  it('a refund never leaves more than the capacity, and charging then refunding is a no-op', () => {
    fc.assert(
      fc.property(policyArb, stepsArb, fc.integer({ min: 1, max: 5 }), (p, steps, cost) => {
        for (const name of ALGORITHM_NAMES) {
          const policy = name === 'token-bucket' || name === 'gcra' ? p : { ...p, burst: p.limit };
          const u = unit(name);
          let now = 1_700_000_000_000;
          let state: unknown;
          for (const step of steps) {
            now += step.advance;
            const r = u.check(state, now, policy, step.cost);
            if (r.decision.allowed) state = r.next;
          }
          const before = u.check(state, now, policy, 1).decision.remaining;
          const charged = u.check(state, now, policy, cost);
          if (!charged.decision.allowed) continue;
          const back = u.refund(charged.next, now, policy, cost, charged.decision.receipt);
          const after = u.check(back?.next ?? charged.next, now, policy, 1).decision.remaining;
          expect(after).toBe(before);
        }
      }),
      { numRuns: 100 },
    );
  });
});
