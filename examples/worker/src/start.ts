/**
 * `pnpm --filter @keel/example-worker start` (needs `REDIS_URL`, e.g. redis://127.0.0.1:6379):
 * enqueues five payments — two of them delivered twice, as a retrying producer would — and
 * shows that the provider was charged once per payment.
 */
import { createRedisClient } from '@keel/core';
import { createRedisIdempotencyStore } from '@keel/idempotency';
import { createRedisStore } from '@keel/rate-limit';
import { Redis } from 'ioredis';
import { createRecordingProvider, type PaymentJob, startPaymentWorker } from './payments.js';

const url = process.env.REDIS_URL;
if (!url) {
  console.error('Set REDIS_URL (e.g. redis://127.0.0.1:6379): BullMQ keeps its queue in Redis.');
  process.exit(1);
}
const keel = createRedisClient(url);
const bull = new Redis(url, { maxRetriesPerRequest: null });
const provider = createRecordingProvider();
const payments = startPaymentWorker({
  connection: bull,
  store: createRedisIdempotencyStore({ client: keel }),
  rateLimitStore: createRedisStore({ client: keel }),
  provider,
});

const run = Date.now().toString(36);
const jobs: PaymentJob[] = [1, 2, 3, 4, 5].map((n) => ({
  paymentId: `pay-${run}-${n}`,
  orderId: `order-${n}`,
  merchant: 'm-coffee',
  amountCents: 450 * n,
  currency: 'EUR',
}));
let done = 0;
const expected = jobs.length + 2;
payments.worker.on('completed', (job, charge) => {
  console.log(`job ${job.id} (${job.data.paymentId}) → ${charge.chargeId}`);
  if (++done < expected) return;
  console.log(`\n${expected} jobs processed, provider charged ${provider.charges.length} times`);
  void payments.close().then(() => Promise.all([keel.quit(), bull.quit()]));
});
for (const job of [...jobs, jobs[0]!, jobs[3]!]) await payments.add(job);
