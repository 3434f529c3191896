/**
 * A payment worker on BullMQ that charges each payment exactly once. BullMQ delivers a job at
 * least once: a producer that retries its `add`, a job retried after a later step failed, a
 * worker that stalled and lost its lock all run the processor again. The charge is wrapped with
 * `makeIdempotent` from @keel/idempotency, keyed by the payment id: the first run charges and
 * stores the receipt, every later run for that payment gets the stored receipt and charges
 * nothing; a duplicate running at the same time waits for the first (`waitMs`); a payment id
 * reused for another amount is refused (the fingerprint). The provider's own limit (charges per
 * merchant per second) is kept with the rate limiter's key API: `consume(merchant)` before
 * charging, and a refused job is delayed by the retry time rather than failed.
 *
 * Two Redis clients on purpose: BullMQ needs `maxRetriesPerRequest: null` (its blocking
 * commands wait for jobs), while Keel's stores want a client that fails fast
 * (`createRedisClient`), so a Redis outage answers within a deadline instead of hanging.
 */
import { randomUUID } from 'node:crypto';
import type { KeelEventListener, KeelEvents } from '@keel/core';
import { type IdempotencyStore, makeIdempotent } from '@keel/idempotency';
import { createRateLimiter, type RateLimitStore } from '@keel/rate-limit';
import { type ConnectionOptions, DelayedError, type Job, Queue, Worker } from 'bullmq';

export const QUEUE = 'payments';

/** One payment to charge. `paymentId` is the idempotency key: one charge per payment. */
export interface PaymentJob {
  paymentId: string;
  orderId: string;
  merchant: string;
  amountCents: number;
  currency: string;
}

/** What the provider answers for a charge: kept, and returned again to every duplicate. */
export interface Charge {
  chargeId: string;
  paymentId: string;
  amountCents: number;
  currency: string;
}

/** The side effect that must happen once per payment. */
export interface PaymentProvider {
  charge(payment: PaymentJob): Promise<Charge>;
}

/** A stand-in provider that records every charge it makes (what a test counts). */
export function createRecordingProvider(): PaymentProvider & { readonly charges: Charge[] } {
  const charges: Charge[] = [];
  return {
    charges,
    async charge(payment) {
      const charge = {
        chargeId: `ch_${randomUUID()}`,
        paymentId: payment.paymentId,
        amountCents: payment.amountCents,
        currency: payment.currency,
      };
      charges.push(charge);
      return charge;
    },
  };
}

export interface PaymentWorkerOptions {
  /** BullMQ's connection (an ioredis client or its options, with `maxRetriesPerRequest: null`). */
  connection: ConnectionOptions;
  /** BullMQ's key prefix. @default 'bull' */
  prefix?: string;
  /** Where charges are remembered: `createRedisIdempotencyStore({ client })`. */
  store: IdempotencyStore;
  /** Where the per-merchant limit counts: `createRedisStore({ client })`. @default in memory */
  rateLimitStore?: RateLimitStore;
  provider: PaymentProvider;
  /** Charges per merchant per `perMs`. @default 10 per 1000 ms */
  merchantLimit?: { limit: number; perMs: number };
  /** A step after the charge (a receipt e-mail); when it throws, BullMQ retries the job. */
  afterCharge?: (charge: Charge) => Promise<void>;
  concurrency?: number;
  events?: KeelEvents | KeelEventListener;
}

/** The provider's limit was reached for this merchant: retry in `retryAfterMs`. */
class MerchantBusyError extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`the provider's per-merchant limit is spent; retry in ${retryAfterMs} ms`);
    this.name = new.target.name;
  }
}

export function startPaymentWorker(options: PaymentWorkerOptions) {
  const { connection, prefix, store, provider, events } = options;
  const { limit, perMs } = options.merchantLimit ?? { limit: 10, perMs: 1000 };
  const merchants = createRateLimiter({
    name: 'provider',
    limit,
    windowMs: perMs,
    algorithm: 'gcra',
    ...(options.rateLimitStore ? { store: options.rateLimitStore } : {}),
    ...(events ? { events } : {}),
  });

  // Runs once per payment id. A refusal by the merchant limit throws before charging, which
  // gives the key up, so the delayed job claims it again later.
  const charge = makeIdempotent(
    async (payment: PaymentJob): Promise<Charge> => {
      const decision = await merchants.consume(payment.merchant);
      if (!decision.allowed) throw new MerchantBusyError(Math.max(1, decision.retryAfterMs));
      return provider.charge(payment);
    },
    {
      name: 'charge-payment',
      store,
      key: (payment) => payment.paymentId,
      // The same payment id with another amount or order is a bug upstream, not a duplicate.
      fingerprint: ({ orderId, merchant, amountCents, currency }) => ({
        orderId,
        merchant,
        amountCents,
        currency,
      }),
      // A duplicate delivered while the first is charging waits for its receipt.
      waitMs: 10_000,
      ...(events ? { events } : {}),
    },
  );

  async function process(job: Job<PaymentJob, Charge>, token?: string): Promise<Charge> {
    let receipt: Charge;
    try {
      receipt = await charge(job.data);
    } catch (error) {
      if (!(error instanceof MerchantBusyError) || token === undefined) throw error;
      // Not a failure: the job comes back once the merchant's limit allows it.
      await job.moveToDelayed(Date.now() + error.retryAfterMs, token);
      throw new DelayedError();
    }
    await options.afterCharge?.(receipt);
    return receipt;
  }

  const queueOptions = { connection, ...(prefix ? { prefix } : {}) };
  const queue = new Queue<PaymentJob, Charge>(QUEUE, queueOptions);
  const worker = new Worker<PaymentJob, Charge>(QUEUE, process, {
    ...queueOptions,
    concurrency: options.concurrency ?? 4,
  });
  return {
    queue,
    worker,
    /** Enqueue a payment; `attempts` lets BullMQ retry a job whose later step failed. */
    add: (payment: PaymentJob) =>
      queue.add('charge', payment, { attempts: 3, backoff: { type: 'fixed', delay: 50 } }),
    async close(): Promise<void> {
      await worker.close();
      await queue.close();
    },
  };
}
