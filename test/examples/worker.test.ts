/**
 * The BullMQ payment worker (examples/worker): each payment is charged exactly once, whatever
 * BullMQ delivers twice — duplicate jobs, concurrent duplicates, a job retried after a later
 * step failed — a payment id reused for another amount is refused with Keel's coded error, and
 * the provider's per-merchant limit delays jobs instead of failing them. On the harness Redis.
 */
import { createEvents, type KeelEvent } from '@keel/core';
import { codes, createRedisIdempotencyStore } from '@keel/idempotency';
import { createRedisStore } from '@keel/rate-limit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Charge,
  createRecordingProvider,
  type PaymentJob,
  startPaymentWorker,
} from '../../examples/worker/src/payments.js';
import { cleanupPrefix, createTestRedis, testPrefix } from '../support/index.js';

const admin = createTestRedis();
const running: { close(): Promise<void>; prefix: string }[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.close();
    await cleanupPrefix(admin, r.prefix);
  }
});

function start(extra: Partial<Parameters<typeof startPaymentWorker>[0]> = {}) {
  const prefix = testPrefix();
  const client = createTestRedis();
  const provider = createRecordingProvider();
  const seen: KeelEvent[] = [];
  const payments = startPaymentWorker({
    connection: createTestRedis({ maxRetriesPerRequest: null }),
    prefix: prefix.slice(0, -1),
    store: createRedisIdempotencyStore({ client, prefix }),
    rateLimitStore: createRedisStore({ client, prefix, deadlineMs: 2000 }),
    provider,
    events: createEvents((e) => seen.push(e)),
    ...extra,
  });
  running.push({ close: payments.close, prefix });
  /** Resolves once `count` jobs completed or failed for good (bounded: 10 s). */
  const settled = (count: number) =>
    new Promise<{ completed: Charge[]; failed: Error[] }>((resolve, reject) => {
      const completed: Charge[] = [];
      const failed: Error[] = [];
      const timer = setTimeout(() => reject(new Error('jobs did not settle in 10 s')), 10_000);
      const check = () => {
        if (completed.length + failed.length < count) return;
        clearTimeout(timer);
        resolve({ completed, failed });
      };
      payments.worker.on('completed', (_job, charge) => {
        completed.push(charge);
        check();
      });
      payments.worker.on('failed', (job, error) => {
        if (job && job.attemptsMade < (job.opts.attempts ?? 1)) return;
        failed.push(error);
        check();
      });
    });
  return { payments, provider, seen, settled };
}

const payment = (n: number, extra: Partial<PaymentJob> = {}): PaymentJob => ({
  paymentId: `pay-${n}`,
  orderId: `order-${n}`,
  merchant: 'm-1',
  amountCents: 100 * n,
  currency: 'EUR',
  ...extra,
});

describe('BullMQ payment worker with makeIdempotent', () => {
  it('charges each payment once, however often it is delivered, even concurrently', async () => {
    const { payments, provider, settled } = start({ concurrency: 8 });
    const done = settled(6);
    // Duplicates side by side: with concurrency 8 they run at the same time, and wait.
    for (const job of [payment(1), payment(1), payment(2), payment(1), payment(2), payment(3)]) {
      await payments.add(job);
    }
    const { completed, failed } = await done;
    expect(failed).toEqual([]);
    expect(provider.charges.map((c) => c.paymentId).sort()).toEqual(['pay-1', 'pay-2', 'pay-3']);
    const byPayment = new Map<string, Set<string>>();
    for (const c of completed) {
      byPayment.set(c.paymentId, (byPayment.get(c.paymentId) ?? new Set()).add(c.chargeId));
    }
    // Every delivery of a payment returned the one receipt.
    expect([...byPayment.values()].map((ids) => ids.size)).toEqual([1, 1, 1]);
  });

  it('a job retried after a later step failed is not charged again', async () => {
    let emails = 0;
    const { payments, provider, settled } = start({
      afterCharge: async () => {
        if (++emails === 1) throw new Error('mail server down');
      },
    });
    const done = settled(1);
    await payments.add(payment(7));
    const { completed } = await done;
    expect(emails).toBe(2);
    expect(provider.charges).toHaveLength(1);
    expect(completed[0]!.chargeId).toBe(provider.charges[0]!.chargeId);
  });

  it('a payment id reused for another amount fails with the coded reuse error, uncharged', async () => {
    const { payments, provider, settled } = start();
    const done = settled(2);
    await payments.add(payment(8));
    await new Promise((r) => setTimeout(r, 100));
    await payments.add(payment(8, { amountCents: 999_999 }));
    const { failed } = await done;
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ code: codes.KEY_REUSED });
    expect(provider.charges).toHaveLength(1);
  });

  it("the merchant's limit (consume by key) delays jobs instead of failing them", async () => {
    const { payments, provider, seen, settled } = start({
      merchantLimit: { limit: 2, perMs: 300 },
      concurrency: 4,
    });
    const done = settled(5);
    for (let n = 10; n < 15; n++) await payments.add(payment(n));
    const { completed, failed } = await done;
    expect(failed).toEqual([]);
    expect(completed).toHaveLength(5);
    expect(provider.charges).toHaveLength(5);
    expect(seen.some((e) => e.name === 'rate-limit.limited')).toBe(true);
  });
});
